import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, getText } from './stream/converge.js';
import { waitFor } from './wait.js';

/** One series of an instant query's answer. */
export interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

interface QueryAnswer {
  readonly status: 'success' | 'error';
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: { readonly resultType: string; readonly result: ReadonlyArray<{ metric: Record<string, string>; value: [number, string] }> };
}

/** A port free on 127.0.0.1 now (Prometheus has no port 0): the caller retries if it is taken meanwhile. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * A real Prometheus server on 127.0.0.1, scraping the given targets every `scrapeSeconds`, its
 * configuration and storage in a temporary directory that stop() removes. It dies with the test
 * process (setpriv --pdeathsig) should that die before its after() hook; only its own pid is
 * ever signalled.
 */
export class PrometheusServer {
  private readonly output: string[] = [];
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // A binary that cannot start: its error is the failure message (waitFor's describe shows it).
    child.on('error', (error) => this.output.push(`${error.message}\n`));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.output.push(text));
  }

  static async start(options: { readonly jobs: Readonly<Record<string, readonly string[]>>; readonly scrapeSeconds: number }): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'kns-prometheus-'));
    const config = [
      'global:',
      `  scrape_interval: ${options.scrapeSeconds}s`,
      `  scrape_timeout: ${options.scrapeSeconds}s`,
      `  evaluation_interval: ${options.scrapeSeconds}s`,
      'scrape_configs:',
      ...Object.entries(options.jobs).flatMap(([job, targets]) => [`  - job_name: ${job}`, '    static_configs:', `      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]`]),
    ].join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
    let lastError: unknown;
    // A port found free can be taken before Prometheus binds it: a few tries.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const args = ['--config.file', join(dir, 'prometheus.yml'), '--storage.tsdb.path', join(dir, 'data'), '--web.listen-address', `127.0.0.1:${port}`, '--log.level', 'warn'];
      const pdeathsig = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
      const child = pdeathsig ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'prometheus', ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('prometheus', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const server = new PrometheusServer(child, port, dir);
      try {
        await waitFor(
          async () => {
            if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`prometheus exited:\n${server.log()}`);
            return (await server.get('/-/ready')) === 200;
          },
          { timeoutMs: 30_000, intervalMs: 100, what: 'prometheus ready', describe: () => server.log() },
        );
        return server;
      } catch (error) {
        lastError = error;
        await server.kill();
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  /** The HTTP status of a GET, 0 when nothing answers yet. */
  private get(path: string): Promise<number> {
    return getText(this.port, path).then(
      ({ status }) => status,
      () => 0,
    );
  }

  /** What Prometheus logged (warnings and errors), for failure messages. */
  log(): string {
    return this.output.join('').slice(-4_000);
  }

  /** An instant query; a query Prometheus refuses (bad PromQL) throws with its error. */
  async query(expr: string): Promise<VectorSample[]> {
    const { status, body } = await getJson<QueryAnswer>(this.port, `/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (status !== 200 || body.status !== 'success') throw new Error(`PromQL ${expr}: HTTP ${status} ${body.errorType ?? ''}: ${body.error ?? ''}`);
    if (body.data?.resultType !== 'vector') return [];
    return body.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  /** The targets' scrape health (`up`), by job. */
  async targetsUp(): Promise<Record<string, number>> {
    return Object.fromEntries((await this.query('up')).map(({ metric, value }) => [metric.job ?? '', value]));
  }

  private async kill(): Promise<void> {
    // Never started (no binary): nothing to stop, and no exit to wait for.
    if (this.child.pid === undefined) return;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const stopped = await Promise.race([this.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref())]);
      if (!stopped) this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** Stops Prometheus (SIGTERM, SIGKILL after 10 s) and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
