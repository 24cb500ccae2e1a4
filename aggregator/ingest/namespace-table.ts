import { NamespaceTable, type NamespaceInfo } from '../../gen/kubenetstat/v1/agent.js';
import { WireFormatError, type Reader } from '../wire/index.js';

/** Namespaces in one message: a few per pod, never many; more is not an agent's. */
const MAX_NAMESPACES = 100_000;

/** A NamespaceTable nested at the reader's position: the node's whole table. */
export function readNamespaceTable(reader: Reader): NamespaceInfo[] {
  const start = reader.delimited();
  const { namespaces } = NamespaceTable.decode(reader.buf.subarray(start, reader.pos));
  if (namespaces.length > MAX_NAMESPACES) throw new WireFormatError(`${namespaces.length} namespaces in one table (at most ${MAX_NAMESPACES})`);
  for (const info of namespaces) {
    if (info.portRangeLow < 1 || info.portRangeLow > info.portRangeHigh || info.portRangeHigh > 65535) throw new WireFormatError(`namespace ${info.netns}: invalid port range ${info.portRangeLow}-${info.portRangeHigh}`);
  }
  return namespaces;
}
