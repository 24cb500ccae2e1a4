/**
 * Throw-away network namespaces for end-to-end tests: `ip netns add`, loopback up, an optional
 * nftables ruleset, processes started inside with `ip netns exec`, and a cleanup that kills
 * them, deletes the namespace and removes temporary directories — safe to call twice, meant
 * for `after()` hooks, and repeated synchronously at exit or on SIGINT/SIGTERM in case the hook
 * never ran. Namespaces left by a test process that was SIGKILLed are removed by the next run.
 * Needs root and the `ip`, `nft` and `nsenter` binaries.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools, rootReason } from './requirements.js';

/** Prefix of every namespace this module creates; the creator's pid follows it. */
const NAME_PREFIX = 'kns-test-';
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
const KILL_WAIT_MS = 5_000;

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin, which is closed afterwards. */
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Resolve with the result instead of throwing when the command exits non-zero. */
  readonly allowFailure?: boolean;
  /** How to decode stdout and stderr; `latin1` keeps every byte as one character. Default utf8. */
  readonly encoding?: BufferEncoding;
  /** The command's environment; this process's when absent. */
  readonly env?: NodeJS.ProcessEnv;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
    reason: string,
  ) {
    super(`${argv.join(' ')}: ${reason}\n${result.stderr.trim()}`);
  }
}

/** Runs argv to completion (bounded by timeoutMs) and returns its output as text. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const encoding = options.encoding ?? 'utf8';
      const result = { code, signal, stdout: Buffer.concat(stdout).toString(encoding), stderr: Buffer.concat(stderr).toString(encoding) };
      if (code === 0 || options.allowFailure) resolve(result);
      else reject(new CommandError(argv, result, signal ? `killed by ${signal}` : `exit code ${code}`));
    });
  });
}

/** Runs argv in the network namespace of `pid` only (nsenter does not remount /sys, unlike `ip netns exec`). */
export function runInNetnsOf(pid: number, argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return run(['nsenter', `--net=/proc/${pid}/ns/net`, ...argv], options);
}

/** Why the namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(tools: readonly string[] = ['ip', 'nft', 'nsenter']): string | undefined {
  return rootReason('creates network namespaces') ?? missingTools(tools);
}

export interface StartedProcess {
  readonly pid: number;
  /** The JSON after the ready prefix. */
  readonly ready: unknown;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

export interface StartOptions {
  /** The process is ready when it prints a line starting with this, followed by JSON. */
  readonly readyPrefix?: string;
  readonly readyTimeoutMs: number;
  readonly cwd?: string;
}

interface Tracked {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  running: boolean;
}

const live = new Set<TestNetns>();
let exitCleanupRegistered = false;

export class TestNetns {
  private readonly processes: Tracked[] = [];
  private readonly tempDirs: string[] = [];
  private cleaning: Promise<void> | undefined;

  private constructor(readonly name: string) {}

  /** A new namespace named kns-test-<our pid>-<random>, with `lo` up. */
  static async create(): Promise<TestNetns> {
    await removeStaleNamespaces();
    const netns = new TestNetns(`${NAME_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    await run(['ip', 'netns', 'add', netns.name]);
    live.add(netns);
    if (!exitCleanupRegistered) {
      exitCleanupRegistered = true;
      cleanupAtExit(() => {
        for (const netns of live) netns.cleanupSync();
      });
    }
    try {
      await run(['ip', '-n', netns.name, 'link', 'set', 'lo', 'up']);
    } catch (error) {
      await netns.cleanup();
      throw error;
    }
    return netns;
  }

  /** `nft -f -` inside the namespace; the rules disappear with it. */
  async loadNftRuleset(ruleset: string): Promise<void> {
    await this.exec(['nft', '-f', '-'], { input: ruleset });
  }

  /** Runs argv inside the namespace (`ip netns exec`, which also remounts /sys). */
  exec(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return run(['ip', 'netns', 'exec', this.name, ...argv], options);
  }

  /** A temporary directory that cleanup() removes. */
  makeTempDir(label: string): string {
    const dir = mkdtempSync(join(tmpdir(), `${NAME_PREFIX}${label}-`));
    this.tempDirs.push(dir);
    return dir;
  }

  /**
   * Starts argv inside the namespace in its own process group (so cleanup can kill the whole
   * group, grandchildren included) and waits for its ready line. `ip netns exec` execs the
   * command in place, so the pid is the command's own.
   */
  async start(argv: readonly string[], options: StartOptions): Promise<StartedProcess> {
    const prefix = options.readyPrefix ?? 'READY ';
    const child = spawn('ip', ['netns', 'exec', this.name, ...argv], {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const tracked: Tracked = { child, exited, running: true };
    void exited.then(() => {
      tracked.running = false;
    });
    this.processes.push(tracked);

    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const ready = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => fail(`no ${JSON.stringify(prefix)} line within ${options.readyTimeoutMs} ms`), options.readyTimeoutMs);
      const fail = (reason: string): void => {
        clearTimeout(timer);
        reject(new Error(`${argv.join(' ')}: ${reason}\nstdout: ${stdout}\nstderr: ${stderr}`));
      };
      child.once('error', (error) => fail(error.message));
      void exited.then(() => fail(`exited with ${child.exitCode ?? child.signalCode} before it was ready`));
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const line = stdout.split('\n').find((candidate, index, all) => index < all.length - 1 && candidate.startsWith(prefix));
        if (line === undefined) return;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line.slice(prefix.length)));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    }).catch(async (error: unknown) => {
      await this.cleanup();
      throw error;
    });
    return { pid: child.pid!, ready, exited };
  }

  /** Kills every process group started here, deletes the namespace and the temp dirs. Idempotent. */
  cleanup(): Promise<void> {
    this.cleaning ??= this.doCleanup();
    return this.cleaning;
  }

  private async doCleanup(): Promise<void> {
    for (const tracked of this.processes) killGroup(tracked);
    await Promise.all(
      this.processes.map((tracked) =>
        Promise.race([tracked.exited, new Promise<void>((resolve) => setTimeout(resolve, KILL_WAIT_MS).unref())]),
      ),
    );
    const stillRunning = this.processes.filter((tracked) => tracked.running).map((tracked) => tracked.child.pid);
    await deleteNamespace(this.name);
    this.removeTempDirs();
    live.delete(this);
    if (stillRunning.length > 0) throw new Error(`processes did not exit after SIGKILL: ${stillRunning.join(', ')}`);
  }

  /** The synchronous last resort at process exit: no waiting, just kill, delete, remove. */
  cleanupSync(): void {
    for (const tracked of this.processes) killGroup(tracked);
    spawnSync('ip', ['netns', 'delete', this.name], { stdio: 'ignore' });
    this.removeTempDirs();
    live.delete(this);
  }

  private removeTempDirs(): void {
    for (const dir of this.tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

function killGroup(tracked: Tracked): void {
  const pid = tracked.child.pid;
  if (!tracked.running || pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL'); // the group we created with detached: true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function deleteNamespace(name: string): Promise<void> {
  const result = await run(['ip', 'netns', 'delete', name], { allowFailure: true });
  if (result.code !== 0 && (await namespaceNames()).includes(name)) {
    throw new CommandError(['ip', 'netns', 'delete', name], result, `exit code ${result.code}`);
  }
}

async function namespaceNames(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return stdout.split('\n').map((line) => line.split(' ', 1)[0]!).filter((name) => name !== '');
}

/** Deletes kns-test-<pid>-* namespaces whose creating test process is gone (a run that was SIGKILLed). */
async function removeStaleNamespaces(): Promise<void> {
  for (const name of await namespaceNames()) {
    const creator = new RegExp(`^${NAME_PREFIX}(\\d+)-[0-9a-f]+$`).exec(name);
    if (creator && !isAlive(Number(creator[1]))) await deleteNamespace(name);
  }
}

/** Whether a process with this pid exists (it may belong to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Runs `cleanup` synchronously at exit, or on SIGINT/SIGTERM before the process dies of the
 * signal as usual — the last resort for resources an `after()` hook never released. Returns
 * the function that unregisters it.
 */
export function cleanupAtExit(cleanup: () => void): () => void {
  exitCleanups.add(cleanup);
  installExitHook();
  return () => exitCleanups.delete(cleanup);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const cleanupAll = (): void => {
    for (const cleanup of [...exitCleanups]) {
      try {
        cleanup();
      } catch (error) {
        // One failing cleanup must not stop the others; say what was left behind.
        process.stderr.write(`cleanup at exit failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      }
    }
  };
  process.once('exit', cleanupAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanupAll();
      process.kill(process.pid, signal); // our listener is gone: the default action follows
    });
  }
}

/** The network-namespace inode of `pid`, as a decimal string (it may exceed 2^53). */
export function netnsInodeOf(pid: number): string {
  const link = readlinkSync(`/proc/${pid}/ns/net`);
  const inode = /^net:\[(\d+)\]$/.exec(link);
  if (!inode) throw new Error(`unexpected ns/net link of ${pid}: ${link}`);
  return inode[1]!;
}
