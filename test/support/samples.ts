import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {  join } from 'node:path';
import { REPO } from './checkout.js';

/** Real kernel and tool captures, copied into the repo (test/fixtures/captures/README.md says how each was made). */
export const SAMPLES = join(REPO, 'test/fixtures/captures');

export function sample(name: string): Buffer {
  return readFileSync(join(SAMPLES, name));
}

export function sampleText(name: string): string {
  return sample(name).toString('latin1');
}

interface SampleProcess {
  pid: number;
  comm: string;
  cmdline: Buffer;
  netns: string;
  fds: Array<[fd: string, target: string]>;
}

/** The three processes of demo.proc-pid-fd-status.txt, as recorded. */
export function demoProcesses(): SampleProcess[] {
  const processes: SampleProcess[] = [];
  let current: SampleProcess | undefined;
  for (const line of sampleText('demo.proc-pid-fd-status.txt').split('\n')) {
    const pid = /^== pid (\d+)/.exec(line);
    if (pid) {
      current = { pid: Number(pid[1]), comm: '', cmdline: Buffer.alloc(0), netns: '', fds: [] };
      processes.push(current);
      continue;
    }
    if (!current) continue;
    const comm = /^comm: (.*)$/.exec(line);
    if (comm) current.comm = comm[1]!;
    const cmdline = /^cmdline \(NUL shown as \|\): (.*)$/.exec(line);
    if (cmdline) current.cmdline = Buffer.from(cmdline[1]!.replaceAll('|', '\0'), 'latin1');
    const netns = /^ns\/net: (.*)$/.exec(line);
    if (netns) current.netns = netns[1]!;
    const fd = /^ {2}(\d+) -> (.*)$/.exec(line);
    if (fd) current.fds.push([fd[1]!, fd[2]!]);
  }
  return processes;
}

const DEMO_TABLES: Record<string, string> = {
  tcp: 'demo.proc-net-tcp.txt',
  tcp6: 'demo.proc-net-tcp6.txt',
  udp: 'demo.proc-net-udp.txt',
  udp6: 'demo.proc-net-udp6.txt',
  raw: 'demo.proc-net-raw.txt',
  raw6: 'demo.proc-net-raw6.txt',
  unix: 'demo.proc-net-unix.txt',
};

/**
 * A fixture proc root holding the demo capture: every pid's ns/net, fd links, comm and
 * cmdline as recorded, and the namespace's tables under each pid's net/. The links are real
 * (dangling) symlinks, so the production HostFs reads them unchanged.
 */
export function demoProcRoot(): { root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'kns-proc-'));
  for (const process of demoProcesses()) {
    const dir = join(root, String(process.pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    mkdirSync(join(dir, 'ns'));
    mkdirSync(join(dir, 'net'));
    writeFileSync(join(dir, 'comm'), `${process.comm}\n`);
    writeFileSync(join(dir, 'cmdline'), process.cmdline);
    symlinkSync(process.netns, join(dir, 'ns', 'net'));
    for (const [fd, target] of process.fds) symlinkSync(target, join(dir, 'fd', fd));
    for (const [table, file] of Object.entries(DEMO_TABLES)) writeFileSync(join(dir, 'net', table), sample(file));
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
