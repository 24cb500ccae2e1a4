import type { CgroupIdentity } from './cgroup.js';

/** cgroup identity by pid, for every process of the scan that could be read. */
export type IdentityIndex = ReadonlyMap<number, CgroupIdentity>;
