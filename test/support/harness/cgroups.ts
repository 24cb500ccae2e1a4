/**
 * cgroup directories in every mounted hierarchy at once — each v1 hierarchy and the v2 one —
 * so that a process's `/proc/<pid>/cgroup` shows the same path on every line, as under kubelet.
 * Also removes what a test run that was SIGKILLed left behind. Needs root.
 */
import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../netns.js';
import { rootReason } from '../requirements.js';

export interface Hierarchy {
  /** The number `/proc/<pid>/cgroup` prints first; 0 for v2. */
  readonly id: number;
  /** As `/proc/<pid>/cgroup` prints them: `cpu,cpuacct`, `name=systemd`, `` for v2. */
  readonly controllers: string;
  /** Where its root is mounted. */
  readonly mountPoint: string;
}

/** Top-level directories this harness creates: `kns-test-<pid>-<hex>` or, as a systemd root, `kns_test_<pid>_<hex>.slice`. */
const OURS = /^kns[-_]test[-_](\d+)[-_][0-9a-f]+(?:\.slice)?$/;
const EMPTY_WAIT_MS = 5_000;
const POLL_MS = 10;

let discovered: readonly Hierarchy[] | undefined;

/**
 * Every hierarchy this process belongs to (from /proc/self/cgroup), with the mount of its root
 * (from /proc/self/mountinfo). Throws when one is not mounted: a process could then not be
 * placed in it, and its line would not match kubelet's.
 */
export function cgroupHierarchies(): readonly Hierarchy[] {
  if (discovered) return discovered;
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      // 41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
      const [before, after = ''] = line.split(' - ');
      const fields = before!.split(' ');
      const [fsType, , superOptions = ''] = after.split(' ');
      return { root: fields[3], mountPoint: unescapeMountPath(fields[4]!), fsType, options: new Set(superOptions.split(',')) };
    })
    .filter((mount) => mount.root === '/' && (mount.fsType === 'cgroup' || mount.fsType === 'cgroup2'));
  const hierarchies = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [id, controllers] = line.split(':') as [string, string];
      const mount =
        id === '0'
          ? mounts.find((candidate) => candidate.fsType === 'cgroup2')
          : mounts.find((candidate) => candidate.fsType === 'cgroup' && controllers.split(',').every((name) => candidate.options.has(name)));
      if (!mount) throw new Error(`cgroup hierarchy ${id}:${controllers} is not mounted with its root visible`);
      return { id: Number(id), controllers, mountPoint: mount.mountPoint };
    });
  discovered = hierarchies;
  return hierarchies;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Why simulated pods cannot be made here, or undefined when they can. */
export function cgroupSkipReason(): string | undefined {
  const notRoot = rootReason('creates cgroups');
  if (notRoot) return notRoot;
  try {
    cgroupHierarchies();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Creates `path` and its missing ancestors in every hierarchy; returns the paths it created,
 * shallowest first. A new v1 cpuset starts with empty cpuset.cpus/mems, and attaching a
 * process to it fails with ENOSPC, so those are copied from the parent, as kubelet does.
 */
export function makeCgroup(path: string): string[] {
  const created: string[] = [];
  const components = path.split('/').filter((component) => component !== '');
  for (let depth = 1; depth <= components.length; depth++) {
    const level = `/${components.slice(0, depth).join('/')}`;
    let made = false;
    for (const hierarchy of cgroupHierarchies()) {
      const dir = hierarchy.mountPoint + level;
      try {
        mkdirSync(dir);
        made = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      if (hierarchy.controllers.split(',').includes('cpuset')) {
        const parent = dir.slice(0, dir.lastIndexOf('/'));
        for (const file of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(`${dir}/${file}`, readFileSync(`${parent}/${file}`));
      }
    }
    if (made) created.push(level);
  }
  return created;
}

/** Moves `pid` (the whole thread group) into `path` in every hierarchy. */
export function attachToCgroup(path: string, pid: number): void {
  for (const hierarchy of cgroupHierarchies()) {
    try {
      writeFileSync(`${hierarchy.mountPoint}${path}/cgroup.procs`, String(pid));
    } catch (error) {
      throw new Error(`moving pid ${pid} into ${hierarchy.controllers || 'cgroup2'}:${path}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** The pids in `path`, across all hierarchies (a process may be left in some after a failed attach). */
export function pidsInCgroup(path: string): number[] {
  const pids = new Set<number>();
  for (const hierarchy of cgroupHierarchies()) {
    let text: string;
    try {
      text = readFileSync(`${hierarchy.mountPoint}${path}/cgroup.procs`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const pid of text.split('\n')) if (pid !== '') pids.add(Number(pid));
  }
  return [...pids];
}

/**
 * Removes each path in every hierarchy, deepest first. rmdir fails with EBUSY while a process
 * is still leaving (SIGKILLed, not yet through cgroup_exit): retried for up to 5 s.
 */
export async function removeCgroups(paths: Iterable<string>): Promise<void> {
  const deadline = Date.now() + EMPTY_WAIT_MS;
  for (const path of deepestFirst(paths)) {
    while (!tryRemoveCgroup(path)) {
      if (Date.now() > deadline) throw busyError(path);
      await sleep(POLL_MS);
    }
  }
}

/** removeCgroups for exit hooks: the same, waiting synchronously. */
export function removeCgroupsSync(paths: Iterable<string>): void {
  const deadline = Date.now() + EMPTY_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const path of deepestFirst(paths)) {
    while (!tryRemoveCgroup(path)) {
      if (Date.now() > deadline) throw busyError(path);
      Atomics.wait(pause, 0, 0, POLL_MS);
    }
  }
}

function deepestFirst(paths: Iterable<string>): string[] {
  return [...new Set(paths)].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

/** true once `path` is gone from every hierarchy; false while one still reports EBUSY. */
function tryRemoveCgroup(path: string): boolean {
  let removed = true;
  for (const hierarchy of cgroupHierarchies()) {
    try {
      rmdirSync(hierarchy.mountPoint + path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EBUSY') removed = false;
      else if (code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

function busyError(path: string): Error {
  return new Error(`cgroup ${path} still busy after ${EMPTY_WAIT_MS} ms; pids in it: ${pidsInCgroup(path).join(', ') || 'none'}`);
}

/**
 * Removes the top-level directories of harness runs whose creating process is gone (a run that
 * was SIGKILLed): kills the processes still in them — that run's pod processes — and removes
 * every directory, deepest first.
 */
export async function sweepStaleCgroups(): Promise<void> {
  const stale = new Set<string>();
  for (const hierarchy of cgroupHierarchies()) {
    for (const entry of readdirSync(hierarchy.mountPoint, { withFileTypes: true })) {
      const creator = OURS.exec(entry.name);
      if (entry.isDirectory() && creator && !isAlive(Number(creator[1]))) stale.add(`/${entry.name}`);
    }
  }
  if (stale.size === 0) return;
  const dirs = new Set<string>();
  for (const top of stale) for (const hierarchy of cgroupHierarchies()) collectDirs(hierarchy.mountPoint, top, dirs);
  for (const dir of dirs) {
    for (const pid of pidsInCgroup(dir)) killIfAlive(pid);
  }
  await removeCgroups(dirs);
}

function collectDirs(mountPoint: string, path: string, into: Set<string>): void {
  let entries;
  try {
    entries = readdirSync(mountPoint + path, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  into.add(path);
  for (const entry of entries) if (entry.isDirectory()) collectDirs(mountPoint, `${path}/${entry.name}`, into);
}

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
