import { defaultsOf, duration, count, optionalText, text, type Program, type Values } from './setting.js';

/** `kube-netstat agent`: every setting of the agent, declared once (setting.ts). */

const HOST_PORT = { regex: /^.+:\d+$/, expected: 'expected host:port' };

const settings = {
  aggregator: text({ flag: 'aggregator', env: 'KUBE_NETSTAT_AGGREGATOR', default: '', placeholder: 'HOST:PORT', pattern: HOST_PORT, help: "The aggregator's gRPC address." }),
  nodeName: text({ flag: 'node-name', env: 'NODE_NAME', default: '', placeholder: 'NAME', nonEmpty: 'a node name', maxLength: 253, help: "This node's name in the API: whose pods the agent watches, and where the aggregator files its sockets." }),
  procRoot: text({ flag: 'proc-root', env: 'KUBE_NETSTAT_PROC_ROOT', default: '/proc', placeholder: 'PATH', nonEmpty: "the host's /proc", help: "Where the host's /proc is mounted (the chart mounts it at /host/proc)." }),
  intervalSeconds: duration({ flag: 'interval', env: 'KUBE_NETSTAT_INTERVAL', default: 1, min: 0.2, max: 60, help: 'Time between two scans of the node.' }),
  /**
   * Between full reads a namespace is read again only when its counters move or its processes
   * change; each full read walks the host-wide socket hash, so this trades the agent's CPU
   * (namespaces / this full reads per second) against how late a change that moves no counter shows.
   */
  fullReadEverySeconds: duration({
    flag: 'full-read-every',
    env: 'KUBE_NETSTAT_FULL_READ_EVERY',
    default: 30,
    min: 1,
    max: 600,
    help: "Longest time between two full reads of a namespace's tables and two fd walks of a process, spread over the scans: a change that moves no socket counter (a partly read Recv-Q, UDP connect, unix listen/accept, fd passing) shows within it.",
  }),
  heartbeatSeconds: duration({ flag: 'heartbeat', env: 'KUBE_NETSTAT_HEARTBEAT', default: 5, min: 1, max: 60, help: 'Time without any other message before a heartbeat goes to the aggregator.' }),
  /** Small messages, because the aggregator holds every agent's partly received message at once. */
  chunkSize: count({ default: 250, min: 100, max: 10_000, unit: 'sockets', help: 'Sockets per snapshot chunk and delta message.' }),
  /** TIME_WAIT lingers 60 s after its pod is gone. */
  deletedPodGraceSeconds: duration({ default: 120, min: 0, max: 600, help: 'How long a pod deleted from the API keeps its name.' }),
  backoffInitialSeconds: duration({ default: 0.2, min: 0.05, max: 5, help: 'First wait before reconnecting to the aggregator; doubled per failure.' }),
  backoffMaxSeconds: duration({ default: 30, min: 1, max: 300, help: 'Longest wait before reconnecting to the aggregator.' }),
  /**
   * Off by default: a bare `kube-netstat agent` opens no port, and agents sharing a host (tests,
   * simulations) would fight over one; standalone's agent series are on the aggregator's /metrics.
   */
  metricsListen: text({
    flag: 'metrics-listen',
    env: 'KUBE_NETSTAT_METRICS_LISTEN',
    default: '',
    placeholder: 'HOST:PORT',
    pattern: { regex: /^(.*:\d+)?$/, expected: 'expected host:port, or empty for none' },
    help: "Serves the agent's own Prometheus metrics there on /metrics (scan duration, sockets, namespaces read and skipped, errors, wire bytes, reconnects) and /healthz, which fails while no scan ends for ten intervals (at least a minute).",
  }),
  tokenFile: text({ flag: 'token-file', env: 'KUBE_NETSTAT_TOKEN_FILE', default: '', placeholder: 'PATH', help: 'A projected service-account token sent to the aggregator (authorization: Bearer), read again at every reconnect when the file changed (rotation).' }),
  kubeconfig: optionalText({ flag: 'kubeconfig', env: 'KUBE_NETSTAT_KUBECONFIG', placeholder: 'FILE', help: 'The kubeconfig pods are named with; by default one found as kubectl finds it, else in-cluster credentials.' }),
  tls: {
    ca: optionalText({ flag: 'tls-ca', env: 'KUBE_NETSTAT_TLS_CA', placeholder: 'FILE', help: "Trust this CA (PEM) for the aggregator's gRPC port: TLS." }),
    cert: optionalText({ flag: 'tls-cert', env: 'KUBE_NETSTAT_TLS_CERT', placeholder: 'FILE', help: 'Present this client certificate (PEM) to the aggregator: mutual TLS, with --tls-key.' }),
    key: optionalText({ flag: 'tls-key', env: 'KUBE_NETSTAT_TLS_KEY', placeholder: 'FILE', help: "The client certificate's key (PEM)." }),
  },
};

export type AgentSettings = Values<typeof settings>;

export const AGENT: Program<typeof settings> = {
  command: 'agent',
  description: `Scans this node's sockets every --interval and streams the changes to the aggregator.
A namespace's tables are read again only when its socket counters (snmp, sockstat) move or
its processes change, and in full at least every --full-read-every.`,
  settings,
  checks: [{ holds: ({ tls }) => Boolean(tls.cert) === Boolean(tls.key), message: `--${settings.tls.cert.flag} and --${settings.tls.key.flag} go together` }],
};

export const AGENT_DEFAULTS: AgentSettings = defaultsOf(settings);
