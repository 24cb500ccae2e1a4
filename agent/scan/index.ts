export { scanHost } from './scan.js';
export { listPids, netnsOf } from './namespaces.js';
export { programName, socketInodeOfLink } from './owners.js';
export type { HostScan, NamespaceScan, ProcessInfo, ScanOptions, ScanProblems, SocketHolder } from './types.js';
export { PARALLEL_SCAN_MIN_SOCKETS, scanHostParallel, scanProcRoot } from './parallel.js';
