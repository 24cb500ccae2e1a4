/**
 * A private container engine: Debian's dockerd (cgroupfs driver) with its own data root, exec
 * root, socket and containerd namespaces in a directory of the test's, so that nothing of the
 * host's engine, images or containers is touched. It never changes the host's network:
 * `--iptables=false --ip-forward=false` always, and either no bridge at all (`network: 'none'`,
 * for image builds that use the host's network) or the daemon inside a network namespace of
 * the test's (`network: { netns }`), where its docker0 and every container's veth live.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAtExit, isAlive, run, type CommandResult } from '../netns.js';
import { Teardown } from '../teardown.js';

export interface EngineOptions {
  /** Holds the data root, exec root, socket, pid file and log; the daemons' state lives here only. */
  readonly dir: string;
  /** containerd namespace of dockerd's containers; `<name>-cri` is the one `ctr` uses. */
  readonly name: string;
  /** 'none': no bridge, builds use `--network host`; netns: the daemon joins that namespace (a path). */
  readonly network: 'none' | { readonly netns: string };
}

export interface EngineCommandOptions {
  readonly input?: string;
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export class ContainerEngine {
  private constructor(
    readonly options: EngineOptions,
    private readonly daemon: ChildProcess,
    private readonly forgetExitCleanup: () => void,
  ) {}

  get socket(): string {
    return join(this.options.dir, 'docker.sock');
  }

  /** containerd's socket, for `ctr` (dockerd runs its own containerd under the exec root). */
  get containerdSocket(): string {
    return join(this.options.dir, 'exec', 'containerd', 'containerd.sock');
  }

  get criNamespace(): string {
    return `${this.options.name}-cri`;
  }

  get log(): string {
    return readFileSync(join(this.options.dir, 'dockerd.log'), 'utf8');
  }

  static async start(options: EngineOptions): Promise<ContainerEngine> {
    const { dir, name } = options;
    mkdirSync(dir, { recursive: true });
    const dockerd = [
      'dockerd', '--host', `unix://${join(dir, 'docker.sock')}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'dockerd.pid'), '--storage-driver', 'overlay2', '--exec-opt', 'native.cgroupdriver=cgroupfs',
      '--iptables=false', '--ip-forward=false', '--ip-masq=false', '--containerd-namespace', name, '--containerd-plugins-namespace', `${name}-plugins`,
      ...(options.network === 'none' ? ['--bridge=none'] : []),
    ];
    const argv = options.network === 'none' ? dockerd : ['nsenter', `--net=${options.network.netns}`, ...dockerd];
    const log = openSync(join(dir, 'dockerd.log'), 'a');
    const daemon = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log] });
    closeSync(log);
    // Should the test process die before its after() hook, the daemon must not outlive it.
    const forget = cleanupAtExit(() => {
      if (daemon.pid !== undefined && daemon.exitCode === null) process.kill(daemon.pid, 'SIGKILL');
    });
    const engine = new ContainerEngine(options, daemon, forget);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (daemon.exitCode !== null) throw new Error(`dockerd exited with ${daemon.exitCode}:\n${engine.log.slice(-3000)}`);
      if ((await engine.docker(['version', '--format', '{{.Server.Version}}'], { allowFailure: true })).code === 0) return engine;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${START_TIMEOUT_MS} ms:\n${engine.log.slice(-3000)}`);
      await sleep(200);
    }
  }

  /** The docker CLI against this daemon (the legacy builder: BuildKit would fetch its frontend from a registry). */
  docker(args: readonly string[], options: EngineCommandOptions = {}): Promise<CommandResult> {
    const env = { ...process.env, ...options.env, DOCKER_HOST: `unix://${this.socket}`, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(this.options.dir, 'client') };
    return run(['docker', ...args], { env, timeoutMs: options.timeoutMs ?? 120_000, ...(options.input !== undefined && { input: options.input }), ...(options.allowFailure && { allowFailure: true }) });
  }

  /** `docker build` of `context`; a failure carries the build's last output lines (the failing step's). */
  async build(context: string, tag: string, buildArgs: Readonly<Record<string, string>>): Promise<void> {
    const args = ['build', '--network', 'host', ...Object.entries(buildArgs).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]), '--tag', tag, context];
    const result = await this.docker(args, { allowFailure: true, timeoutMs: 10 * 60_000 });
    if (result.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${result.code}\n${result.stdout.split('\n').slice(-40).join('\n')}\n${result.stderr}`);
  }

  /** containerd's own client, in the CRI-like namespace, as kubelet's containerd would create containers. */
  ctr(args: readonly string[], options: EngineCommandOptions = {}): Promise<CommandResult> {
    return run(['ctr', '--address', this.containerdSocket, '--namespace', this.criNamespace, ...args], { timeoutMs: options.timeoutMs ?? 120_000, ...(options.allowFailure && { allowFailure: true }) });
  }

  /** Pipes `docker save IMAGE` into `ctr images import`, so that ctr can run what docker built. */
  async shareImage(image: string): Promise<void> {
    const archive = join(this.options.dir, 'share.tar');
    await this.docker(['save', '--output', archive, image]);
    await this.ctr(['images', 'import', archive]);
    rmSync(archive, { force: true });
  }

  /**
   * Removes every container (docker's and ctr's), stops the daemon (and with it its
   * containerd), unmounts whatever is left mounted under the directory and removes it — unless
   * `keepImages`, which leaves the data root (images) for a daemon started next on the same
   * directory. Each step runs even when an earlier one failed; the first failure is thrown at
   * the end, together.
   */
  async stop(options: { keepImages?: boolean } = {}): Promise<void> {
    const teardown = new Teardown();
    const step = (what: () => unknown): Promise<void> => teardown.step(what);
    if (this.daemon.exitCode === null) {
      await step(async () => {
        const ids = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
        if (ids.length > 0) await this.docker(['rm', '-f', '-v', ...ids]);
      });
      await step(async () => {
        const ids = (await this.ctr(['containers', 'list', '-q'], { allowFailure: true })).stdout.split('\n').filter(Boolean);
        for (const id of ids) {
          await this.ctr(['tasks', 'kill', '--signal', 'SIGKILL', id], { allowFailure: true });
          await this.ctr(['tasks', 'delete', '--force', id], { allowFailure: true });
          await this.ctr(['containers', 'delete', id]);
        }
      });
      await step(() => this.stopDaemon());
    }
    const containerdPid = join(this.options.dir, 'exec', 'containerd', 'containerd.pid');
    await step(async () => {
      // dockerd stops the containerd it started; should it not have, that one is ours to end.
      const pid = existsSync(containerdPid) ? Number(readFileSync(containerdPid, 'utf8').trim()) : NaN;
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    await step(() => unmountUnder(this.options.dir));
    if (!options.keepImages) await step(async () => rmSync(this.options.dir, { recursive: true, force: true }));
    this.forgetExitCleanup();
    teardown.finish(`stopping the container engine in ${this.options.dir}`);
  }

  private async stopDaemon(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.daemon.once('exit', () => resolve()));
    this.daemon.kill('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (timedOut) {
      this.daemon.kill('SIGKILL');
      await exited;
    }
  }
}

/** Unmounts every mount point under `dir`, deepest first (netns files, overlay layers). */
export async function unmountUnder(dir: string): Promise<void> {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await run(['umount', '--lazy', point], { allowFailure: true });
}
