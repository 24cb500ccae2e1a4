import type { SocketProto } from '../../model/socket.js';
import type { NetstatOptions } from './format.js';
import { isDuration, parseDuration } from '../../config/duration.js';
import { UsageError } from '../../config/usage-error.js';

export type OutputFormat = 'netstat' | 'wide' | 'json' | 'yaml';
const OUTPUT_FORMATS: ReadonlySet<string> = new Set(['wide', 'json', 'yaml']);

/** The flags `local` and `query` share: netstat's letters, kubectl's habits, filters, output. */
export interface CommonFlags {
  readonly protos: ReadonlySet<SocketProto>;
  readonly netstat: NetstatOptions;
  readonly output: OutputFormat;
  /** -c: seconds between listings, undefined for a single listing. */
  readonly continuousSeconds: number | undefined;
  readonly states: readonly string[];
  readonly ports: readonly number[];
  readonly addresses: readonly string[];
  readonly help: boolean;
  readonly kube: KubeFlags;
}

/** kubectl's habits: which pods to show and how to reach the API. */
export interface KubeFlags {
  readonly namespace: string | undefined;
  readonly allNamespaces: boolean;
  readonly selector: string | undefined;
  readonly pod: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  /** Whose pods to ask the API for; default $NODE_NAME, else the host name. */
  readonly node: string | undefined;
}

interface Mutable {
  tcp: boolean;
  udp: boolean;
  raw: boolean;
  unix: boolean;
  inet4: boolean;
  inet6: boolean;
  all: boolean;
  listening: boolean;
  numericHosts: boolean;
  numericPorts: boolean;
  numericUsers: boolean;
  extend: number;
  programs: boolean;
  timers: boolean;
  wide: boolean;
  output: OutputFormat;
  continuousSeconds: number | undefined;
  states: string[];
  ports: number[];
  addresses: string[];
  help: boolean;
  namespace: string | undefined;
  allNamespaces: boolean;
  selector: string | undefined;
  pod: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  node: string | undefined;
}

/** Short flags without a value, netstat's letters. */
const SHORT: Readonly<Record<string, (m: Mutable) => void>> = {
  t: (m) => (m.tcp = true),
  u: (m) => (m.udp = true),
  w: (m) => (m.raw = true),
  x: (m) => (m.unix = true),
  l: (m) => (m.listening = true),
  a: (m) => (m.all = true),
  n: (m) => {
    m.numericHosts = m.numericPorts = m.numericUsers = true;
  },
  p: (m) => (m.programs = true),
  e: (m) => m.extend++,
  W: (m) => (m.wide = true),
  '4': (m) => (m.inet4 = true),
  '6': (m) => (m.inet6 = true),
  h: (m) => (m.help = true),
  A: (m) => (m.allNamespaces = true),
};

const LONG: Readonly<Record<string, (m: Mutable) => void>> = {
  tcp: SHORT.t!,
  udp: SHORT.u!,
  raw: SHORT.w!,
  unix: SHORT.x!,
  listening: SHORT.l!,
  all: SHORT.a!,
  numeric: SHORT.n!,
  'numeric-hosts': (m) => (m.numericHosts = true),
  'numeric-ports': (m) => (m.numericPorts = true),
  'numeric-users': (m) => (m.numericUsers = true),
  programs: SHORT.p!,
  program: SHORT.p!,
  timers: (m) => (m.timers = true),
  extend: SHORT.e!,
  wide: SHORT.W!,
  inet: SHORT['4']!,
  inet6: SHORT['6']!,
  help: SHORT.h!,
  'all-namespaces': SHORT.A!,
};

/** Long options that take a value (`--name value` or `--name=value`). */
const LONG_WITH_VALUE: Readonly<Record<string, (m: Mutable, value: string) => void>> = {
  output: (m, value) => (m.output = outputFormat(value)),
  state: (m, value) => m.states.push(...splitList(value)),
  port: (m, value) => m.ports.push(...splitList(value).map(port)),
  address: (m, value) => m.addresses.push(...splitList(value)),
  namespace: (m, value) => (m.namespace = value),
  selector: (m, value) => (m.selector = value),
  pod: (m, value) => (m.pod = value),
  kubeconfig: (m, value) => (m.kubeconfig = value),
  context: (m, value) => (m.context = value),
  node: (m, value) => (m.node = value),
};

/**
 * netstat's `-n` (numeric) and `-l` (listening) are also kubectl's `-n NAMESPACE` and
 * `-l SELECTOR`. netstat takes no positional arguments, so a standalone `-n`/`-l` followed by
 * a word that is not a flag can only be kubectl's; inside a group (`-tlnp`) they are netstat's.
 */
const KUBECTL_VALUE_FLAGS: Readonly<Record<string, (m: Mutable, value: string) => void>> = {
  '-n': LONG_WITH_VALUE.namespace!,
  '-l': LONG_WITH_VALUE.selector!,
};

export function splitList(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

export function port(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535) throw new UsageError(`invalid port '${text}': expected 0-65535`);
  return value;
}

/** `-o`, `-tanpo`: a group of short flags ending in netstat's -o, which took no value. */
function endsInBareO(arg: string | undefined): boolean {
  return arg !== undefined && /^-[A-Za-z0-9]*o$/.test(arg);
}

function outputFormat(value: string): OutputFormat {
  if (!OUTPUT_FORMATS.has(value)) throw new UsageError(`invalid output format '${value}': expected one of json, yaml, wide`);
  return value as OutputFormat;
}

function seconds(text: string): number {
  const value = parseDuration(text, 'interval for -c');
  if (value <= 0) throw new UsageError(`invalid interval '${text}' for -c: expected more than 0s`);
  return value;
}

const isInterval = (text: string | undefined): text is string => text !== undefined && isDuration(text);

/**
 * Long options one command adds to the common grammar, writing into its own record `E`:
 * `flags` take no value, `values` take one (`--name value` or `--name=value`).
 */
export interface FlagExtension<E> {
  readonly initial: () => E;
  readonly flags?: Readonly<Record<string, (extra: E) => void>>;
  readonly values?: Readonly<Record<string, (extra: E, value: string) => void>>;
  /** A word that is no flag (netstat takes none; a command's subcommand may be one); absent: an error. */
  readonly positional?: (extra: E, word: string) => void;
}

/**
 * netstat's grammar: grouped short flags (`-tanpo`), long forms, `-e` counted (`-ee`), plus
 * two values netstat itself lacks. `-c [secs]` takes an optional interval. `-o` is netstat's
 * timers unless followed by an output format (`-o json`, `-ojson`, `-o=json`), kubectl's habit.
 * `extension` adds a command's own long options.
 */
export function parseNetstatFlags<E>(argv: readonly string[], extension: FlagExtension<E>): { flags: CommonFlags; extra: E } {
  const extra = extension.initial();
  const m: Mutable = {
    tcp: false,
    udp: false,
    raw: false,
    unix: false,
    inet4: false,
    inet6: false,
    all: false,
    listening: false,
    numericHosts: false,
    numericPorts: false,
    numericUsers: false,
    extend: 1,
    programs: false,
    timers: false,
    wide: false,
    output: 'netstat',
    continuousSeconds: undefined,
    states: [],
    ports: [],
    addresses: [],
    help: false,
    namespace: undefined,
    allNamespaces: false,
    selector: undefined,
    pod: undefined,
    kubeconfig: undefined,
    context: undefined,
    node: undefined,
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const kubectlFlag = KUBECTL_VALUE_FLAGS[arg.slice(0, 2)];
    if (kubectlFlag && arg.length > 2 && arg[2] === '=') {
      kubectlFlag(m, arg.slice(3));
      continue;
    }
    const next = argv[i + 1];
    if (kubectlFlag && arg.length === 2 && next !== undefined && !next.startsWith('-')) {
      kubectlFlag(m, next);
      i++;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (name === 'continuous') {
        if (inline !== undefined) m.continuousSeconds = seconds(inline);
        else if (isInterval(argv[i + 1])) m.continuousSeconds = seconds(argv[++i]!);
        else m.continuousSeconds = 1;
        continue;
      }
      const withValue = LONG_WITH_VALUE[name];
      const extraValue = extension.values?.[name];
      if (withValue || extraValue) {
        const value = inline ?? argv[++i];
        if (value === undefined) throw new UsageError(`option '--${name}' requires a value`);
        if (extraValue) extraValue(extra, value);
        else withValue!(m, value);
        continue;
      }
      const flag = LONG[name];
      const extraFlag = extension.flags?.[name];
      if (!flag && !extraFlag) throw new UsageError(`unrecognized option '${arg}'`);
      if (inline !== undefined) throw new UsageError(`option '--${name}' doesn't allow an argument`);
      if (extraFlag) extraFlag(extra);
      else flag!(m);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      try {
        if (!extension.positional) throw new UsageError(`unexpected argument '${arg}'`);
        extension.positional(extra, arg);
      } catch (error) {
        // `-o xml`: a bare -o is netstat's timers, so the word is left over; say what -o takes.
        if (error instanceof UsageError && endsInBareO(argv[i - 1])) throw new UsageError(`invalid output format '${arg}': -o takes one of json, yaml, wide (a bare -o is netstat's --timers)`);
        throw error;
      }
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j]!;
      const rest = arg.slice(j + 1);
      if (letter === 'o') {
        const attached = rest.startsWith('=') ? rest.slice(1) : rest;
        if (OUTPUT_FORMATS.has(attached)) {
          m.output = attached as OutputFormat;
          break;
        }
        if (rest.startsWith('=')) m.output = outputFormat(attached);
        if (rest === '' && OUTPUT_FORMATS.has(argv[i + 1] ?? '')) {
          m.output = argv[++i] as OutputFormat;
          break;
        }
        m.timers = true;
        continue;
      }
      if (letter === 'c') {
        if (isInterval(rest)) {
          m.continuousSeconds = seconds(rest);
          break;
        }
        if (rest === '' && isInterval(argv[i + 1])) m.continuousSeconds = seconds(argv[++i]!);
        else m.continuousSeconds = 1;
        continue;
      }
      const flag = SHORT[letter];
      if (!flag) throw new UsageError(`invalid option -- '${letter}'`);
      flag(m);
    }
  }
  return { flags: finish(m), extra };
}

/** netstat's main(): which tables a flag combination reads. */
function finish(m: Mutable): CommonFlags {
  let { tcp, udp, raw } = m;
  let inet4 = m.inet4;
  let inet6 = m.inet6;
  if ((inet4 || inet6) && !(tcp || udp || raw)) tcp = udp = raw = true;
  if ((tcp || udp || raw) && !(inet4 || inet6)) inet4 = inet6 = true;
  const anyProtocol = tcp || udp || raw || m.unix;
  const protos = new Set<SocketProto>();
  const add = (wanted: boolean, v4: SocketProto, v6: SocketProto): void => {
    if (!anyProtocol || wanted) {
      if (!anyProtocol || inet4) protos.add(v4);
      if (!anyProtocol || inet6) protos.add(v6);
    }
  };
  add(tcp, 'tcp', 'tcp6');
  add(udp, 'udp', 'udp6');
  add(raw, 'raw', 'raw6');
  if (!anyProtocol || m.unix) protos.add('unix');
  return {
    protos,
    netstat: {
      // A --state filter chooses the states itself, as ss's does: it replaces netstat's default
      // of all but the servers (-l still means only them).
      all: m.all || (m.states.length > 0 && !m.listening),
      listening: m.listening,
      numericHosts: m.numericHosts,
      numericPorts: m.numericPorts,
      numericUsers: m.numericUsers,
      extend: m.extend,
      programs: m.programs,
      timers: m.timers,
      wide: m.wide,
    },
    output: m.output,
    continuousSeconds: m.continuousSeconds,
    states: m.states,
    ports: m.ports,
    addresses: m.addresses,
    help: m.help,
    kube: {
      namespace: m.namespace,
      allNamespaces: m.allNamespaces,
      selector: m.selector,
      pod: m.pod,
      kubeconfig: m.kubeconfig,
      context: m.context,
      node: m.node,
    },
  };
}

/** netstat's options for a listing: -o wide turns on what netstat -eepoW shows. */
export function listingOptions(flags: Pick<CommonFlags, 'netstat' | 'output'>): NetstatOptions {
  if (flags.output !== 'wide') return flags.netstat;
  return { ...flags.netstat, extend: Math.max(flags.netstat.extend, 2), programs: true, timers: true, wide: true };
}
