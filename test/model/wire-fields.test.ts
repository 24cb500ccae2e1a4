import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import * as agentMessages from '../../gen/kubenetstat/v1/agent.js';
import * as queryMessages from '../../gen/kubenetstat/v1/query.js';
import * as socketMessages from '../../gen/kubenetstat/v1/socket.js';
import { WIRE, WireType, wireTypeOf, type WireField } from '../../model/wire-fields.js';

/** What the test needs of a ts-proto message's generated functions. */
interface Generated {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
  fromPartial(object: unknown): Record<string, unknown>;
}

const GENERATED: Readonly<Record<string, unknown>> = { ...agentMessages, ...socketMessages, ...queryMessages };

function generated(message: string): Generated {
  const fns = GENERATED[message] as Partial<Generated> | undefined;
  assert.ok(fns?.encode && fns.decode && fns.fromPartial, `gen/ has no message ${message}`);
  return fns as Generated;
}

/**
 * Values that are not a field's default, by the kind of its default: only a non-default value is
 * written. A repeated field's element may be a string or a message; a field absent from the
 * defaults is a member of a oneof (StreamRequest.message).
 */
function candidates(defaults: Record<string, unknown>, name: string): unknown[] {
  if (!(name in defaults)) {
    const oneofs = Object.keys(defaults).filter((key) => defaults[key] === undefined);
    return oneofs.map((oneof) => ({ [oneof]: { $case: name, value: {} } }));
  }
  const value = defaults[name];
  const samples: unknown[] =
    typeof value === 'string' ? ['x']
    : typeof value === 'number' ? [1]
    : typeof value === 'bigint' ? [1n]
    : typeof value === 'boolean' ? [true]
    : value instanceof Uint8Array ? [Uint8Array.of(1)]
    : Array.isArray(value) ? [['x'], [{}], [1]]
    : value === undefined ? [{}]
    : [{ k: 'v' }];
  return samples.map((sample) => ({ [name]: sample }));
}

/** The message with only `name` set, encoded by the generated encoder (the candidate that decodes back as set). */
function encodedWithOnly(fns: Generated, name: string): Uint8Array {
  const defaults = fns.fromPartial({});
  for (const partial of candidates(defaults, name)) {
    let bytes: Uint8Array;
    try {
      bytes = fns.encode(fns.fromPartial(partial)).finish();
    } catch (error) {
      if (error instanceof Error) continue;
      throw error;
    }
    if (bytes.length > 0 && isDeepEqual(fns.decode(bytes), fns.fromPartial(partial))) return bytes;
  }
  assert.fail(`no value of ${name} that the generated encoder writes: not a field of the message`);
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch (error) {
    if (error instanceof assert.AssertionError) return false;
    throw error;
  }
}

const WIRE_TYPE_NAMES = new Map<number, string>(Object.entries(WireType).map(([name, type]) => [type, name]));

describe('model/wire-fields.ts: every field the hand-written codec reads or writes is the generated code\'s', () => {
  for (const [message, fields] of Object.entries(WIRE)) {
    for (const [name, field] of Object.entries(fields) as [string, WireField][]) {
      test(`${message}.${name} is field ${field.number}, ${WIRE_TYPE_NAMES.get(field.wireType)}`, () => {
        const tag = new BinaryReader(encodedWithOnly(generated(message), name)).uint32();
        assert.deepEqual({ number: tag >>> 3, wireType: wireTypeOf(tag) }, { number: field.number, wireType: field.wireType }, 'as gen/ encodes it');
        assert.equal(field.tag, tag, 'its tag');
      });
    }
  }
});
