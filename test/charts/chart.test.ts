import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { AGENT } from '../../config/agent-settings.js';
import { AGGREGATOR } from '../../config/aggregator-settings.js';
import { DEFAULT_AGGREGATOR, parseQueryFlags } from '../../cli/query/flags.js';
import { ruleNames } from '../../config/rule-flags.js';
import { agentSettings } from '../../cmd/agent.js';
import { aggregatorSettings } from '../../cmd/aggregator.js';
import { helm, helmSkipReason, renderChart, type Manifest } from '../support/helm.js';
import { runCli } from '../support/run-cli.js';
import { requirement } from '../support/requirements.js';

/**
 * The chart (charts/kube-netstat) through the real helm binary: lint, render, and the rendered
 * manifests checked for the security model (design.md), least RBAC, and flags the CLI accepts.
 */

const CHART = 'charts/kube-netstat';
const ALL_FEATURES = `${CHART}/ci/all-features-values.yaml`;

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown> & { capabilities?: { add?: string[]; drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
}
interface PodSpec {
  containers: Container[];
  hostPID?: boolean;
  hostNetwork?: boolean;
  serviceAccountName: string;
  securityContext?: Record<string, unknown>;
  tolerations?: Record<string, unknown>[];
  volumes?: (Record<string, unknown> & { name: string })[];
}
type Workload = Manifest & { spec: { template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } } };
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

/** The one object of this kind whose name ends with the suffix. */
function one<T extends Manifest = Manifest>(manifests: readonly Manifest[], kind: string, suffix = ''): T {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name.endsWith(suffix));
  assert.equal(found.length, 1, `one ${kind} named *${suffix}, found ${found.map((m) => m.metadata.name).join(', ') || 'none'}`);
  return found[0] as T;
}
const workloads = (manifests: readonly Manifest[]): Workload[] => manifests.filter((m): m is Workload => ['DaemonSet', 'Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(m.kind));
const agentPod = (manifests: readonly Manifest[]): PodSpec => one<Workload>(manifests, 'DaemonSet', '-agent').spec.template.spec;
const aggregatorPod = (manifests: readonly Manifest[]): PodSpec => one<Workload>(manifests, 'Deployment', '-aggregator').spec.template.spec;
const container = (pod: PodSpec, name: string): Container => pod.containers.find((c) => c.name === name) ?? assert.fail(`no container ${name}`);
const envValue = (c: Container, name: string) => c.env?.find((e) => e.name === name);
type Service = Manifest & { spec: { ports: { name: string; port: number; targetPort: string }[]; selector: Record<string, string> } };
/** The aggregator's Service (the agents' metrics Service, with ServiceMonitors, is the other). */
const aggregatorService = (manifests: readonly Manifest[]): Service => {
  const found = manifests.filter((m) => m.kind === 'Service' && m.metadata.labels?.['app.kubernetes.io/component'] === 'aggregator');
  assert.equal(found.length, 1, 'one aggregator Service');
  return found[0] as Service;
};

/** A flag's value in args: `--flag VALUE`. */
function flag(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

/** RBAC rules as "group/resource:verb" strings, sorted. */
function grants(rules: readonly Rule[]): string[] {
  return rules.flatMap((rule) => rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource}:${verb}`)))).sort();
}
const each = (group: string, resources: string[], verbs: string[]) => resources.flatMap((resource) => verbs.map((verb) => `${group}/${resource}:${verb}`));

const AGENT_GRANTS = each('', ['pods'], ['get', 'list', 'watch']).sort();
const AGGREGATOR_GRANTS = [
  ...each('', ['pods', 'services', 'nodes'], ['get', 'list', 'watch']),
  ...each('discovery.k8s.io', ['endpointslices'], ['get', 'list', 'watch']),
  'authentication.k8s.io/tokenreviews:create',
  'authorization.k8s.io/subjectaccessreviews:create',
].sort();
const EVENT_GRANTS = [...each('', ['events'], ['create', 'patch']), ...each('events.k8s.io', ['events'], ['create', 'patch'])];

/** Runs fn with exactly these kube-netstat variables in the environment (the CLI reads flags from it too). */
function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const ours = (name: string) => name.startsWith('KUBE_NETSTAT_') || name === 'NODE_NAME';
  const saved = Object.fromEntries(Object.entries(process.env).filter(([name]) => ours(name)));
  for (const name of Object.keys(saved)) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const name of Object.keys(process.env)) if (ours(name)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

/** The agent's settings as the CLI reads them from the container's args and env (the downward API's node name stands in). */
function agentSettingsOf(c: Container) {
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName' ? 'node-a' : assert.fail(`env ${e.name}: unexpected source`))]));
  return withEnv(env, () => agentSettings((c.args ?? []).slice(1)));
}
function aggregatorSettingsOf(c: Container) {
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? assert.fail(`env ${e.name}: no literal value`)]));
  return withEnv(env, () => aggregatorSettings((c.args ?? []).slice(1)));
}

const RENDERS = [
  { name: 'default values', release: 'kube-netstat', namespace: 'kube-netstat', args: [] as string[] },
  { name: 'every optional feature on', release: 'rel', namespace: 'observability', args: ['-f', ALL_FEATURES] },
] as const;

describe('the Helm chart, through the real helm binary', { skip: requirement(helmSkipReason()) }, () => {
  const rendered = new Map<string, Manifest[]>();
  let agentHelp = '';
  let aggregatorHelp = '';
  before(async () => {
    for (const render of RENDERS) rendered.set(render.name, renderChart(render.release, render.namespace, render.args));
    agentHelp = (await runCli(['agent', '--help'])).stdout;
    aggregatorHelp = (await runCli(['aggregator', '--help'])).stdout;
  });
  const manifests = (name: string): Manifest[] => rendered.get(name) ?? assert.fail(`not rendered: ${name}`);

  for (const render of RENDERS) {
    test(`helm lint --strict passes with ${render.name}`, () => {
      const result = helm(['lint', '--strict', CHART, '--namespace', render.namespace, ...render.args]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }

  for (const render of RENDERS) {
    describe(`rendered with ${render.name}`, () => {
      test('no container is privileged, escalates, writes its root filesystem or keeps default capabilities; seccomp is RuntimeDefault', () => {
        for (const workload of workloads(manifests(render.name))) {
          const pod = workload.spec.template.spec;
          for (const c of pod.containers) {
            const where = `${workload.kind}/${workload.metadata.name} ${c.name}`;
            const sc = c.securityContext ?? assert.fail(`${where}: no securityContext`);
            assert.equal(sc.privileged ?? false, false, where);
            assert.equal(sc.allowPrivilegeEscalation, false, where);
            assert.equal(sc.readOnlyRootFilesystem, true, where);
            assert.deepEqual(sc.capabilities?.drop, ['ALL'], where);
            const seccomp = (sc.seccompProfile ?? pod.securityContext?.seccompProfile) as { type: string } | undefined;
            assert.equal(seccomp?.type, 'RuntimeDefault', where);
          }
        }
      });

      test('the agent adds exactly SYS_PTRACE and DAC_READ_SEARCH, runs as uid 0, and is AppArmor-unconfined both ways', () => {
        const agent = one<Workload>(manifests(render.name), 'DaemonSet', '-agent');
        const c = container(agent.spec.template.spec, 'agent');
        assert.deepEqual([...(c.securityContext?.capabilities?.add ?? [])].sort(), ['DAC_READ_SEARCH', 'SYS_PTRACE']);
        assert.equal(c.securityContext?.runAsUser, 0);
        assert.deepEqual(c.securityContext?.appArmorProfile, { type: 'Unconfined' });
        assert.equal(agent.spec.template.metadata.annotations?.['container.apparmor.security.beta.kubernetes.io/agent'], 'unconfined');
      });

      test('hostPID only on the agent; host /proc read-only at /host/proc, which --proc-root names', () => {
        for (const workload of workloads(manifests(render.name))) {
          assert.equal(workload.spec.template.spec.hostPID ?? false, workload.kind === 'DaemonSet', `${workload.kind}/${workload.metadata.name}`);
        }
        const pod = agentPod(manifests(render.name));
        const c = container(pod, 'agent');
        const mount = c.volumeMounts?.find((m) => m.mountPath === '/host/proc') ?? assert.fail('no /host/proc mount');
        assert.equal(mount.readOnly, true);
        assert.deepEqual(pod.volumes?.find((v) => v.name === mount.name)?.hostPath, { path: '/proc', type: 'Directory' });
        assert.equal(flag(c.args ?? [], '--proc-root'), '/host/proc');
        assert.equal(aggregatorPod(manifests(render.name)).hostNetwork ?? false, false);
      });

      test('the agent gets NODE_NAME from spec.nodeName, tolerates every taint, and streams to the Service\'s grpc port', () => {
        const m = manifests(render.name);
        const pod = agentPod(m);
        const c = container(pod, 'agent');
        assert.deepEqual(envValue(c, 'NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
        assert.ok(pod.tolerations?.some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined), 'a toleration with operator Exists and no key or effect');
        const service = aggregatorService(m);
        const grpc = service.spec.ports.find((p) => p.name === 'grpc') ?? assert.fail('no grpc port');
        assert.equal(envValue(c, 'KUBE_NETSTAT_AGGREGATOR')?.value, `${service.metadata.name}.${render.namespace}.svc:${grpc.port}`);
      });

      test('the Service names its ports grpc and http, the aggregator container\'s, and selects only the aggregator', () => {
        const m = manifests(render.name);
        const service = aggregatorService(m);
        assert.deepEqual(service.spec.ports.map((p) => p.name), ['grpc', 'http']);
        const c = container(aggregatorPod(m), 'aggregator');
        for (const port of service.spec.ports) {
          const target = c.ports?.find((p) => p.name === port.targetPort) ?? assert.fail(`no container port ${port.targetPort}`);
          assert.equal(target.containerPort, port.port);
        }
        assert.equal(service.spec.selector['app.kubernetes.io/component'], 'aggregator');
        assert.equal(flag(c.args ?? [], '--grpc-listen'), `0.0.0.0:${service.spec.ports[0]!.port}`);
        assert.equal(flag(c.args ?? [], '--http-listen'), `0.0.0.0:${service.spec.ports[1]!.port}`);
      });

      test('probes: the agent on /healthz at its --metrics-listen port, the aggregator on /readyz and /healthz at http', () => {
        const m = manifests(render.name);
        const agent = container(agentPod(m), 'agent');
        const metrics = agent.ports?.find((p) => p.name === 'metrics') ?? assert.fail('no metrics port');
        assert.equal(flag(agent.args ?? [], '--metrics-listen'), `0.0.0.0:${metrics.containerPort}`);
        assert.deepEqual([agent.readinessProbe?.httpGet, agent.livenessProbe?.httpGet], [{ path: '/healthz', port: 'metrics' }, { path: '/healthz', port: 'metrics' }]);
        const aggregator = container(aggregatorPod(m), 'aggregator');
        assert.deepEqual([aggregator.readinessProbe?.httpGet, aggregator.livenessProbe?.httpGet], [{ path: '/readyz', port: 'http' }, { path: '/healthz', port: 'http' }]);
      });

      test('the aggregator runs as a non-root user', () => {
        const pod = aggregatorPod(manifests(render.name));
        const sc = { ...pod.securityContext, ...container(pod, 'aggregator').securityContext };
        assert.equal(sc.runAsNonRoot, true);
        assert.ok(typeof sc.runAsUser === 'number' && sc.runAsUser > 0, `runAsUser ${String(sc.runAsUser)}`);
      });

      test('RBAC: exactly the least grants, bound to the service accounts the pods run as', () => {
        const m = manifests(render.name);
        const eventsOn = render.name === 'default values';
        const roles = m.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role') as (Manifest & { rules: Rule[] })[];
        assert.deepEqual(roles.map((r) => r.metadata.name).sort(), [one(m, 'DaemonSet').metadata.name, one(m, 'Deployment').metadata.name].sort());
        assert.deepEqual(grants(one<Manifest & { rules: Rule[] }>(m, 'ClusterRole', '-agent').rules), AGENT_GRANTS);
        assert.deepEqual(grants(one<Manifest & { rules: Rule[] }>(m, 'ClusterRole', '-aggregator').rules), [...AGGREGATOR_GRANTS, ...(eventsOn ? EVENT_GRANTS : [])].sort());
        for (const [suffix, pod] of [['-agent', agentPod(m)], ['-aggregator', aggregatorPod(m)]] as const) {
          const binding = one<Manifest & { roleRef: { name: string }; subjects: { kind: string; name: string; namespace: string }[] }>(m, 'ClusterRoleBinding', suffix);
          assert.equal(binding.roleRef.name, one(m, 'ClusterRole', suffix).metadata.name);
          assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: render.namespace }]);
          assert.ok(m.some((x) => x.kind === 'ServiceAccount' && x.metadata.name === pod.serviceAccountName), `ServiceAccount ${pod.serviceAccountName}`);
        }
      });

      test('the agent mounts a projected service-account token with its own audience and a short life', () => {
        const pod = agentPod(manifests(render.name));
        const volume = pod.volumes?.find((v) => v.projected) as { name: string; projected: { sources: { serviceAccountToken?: { audience: string; expirationSeconds: number; path: string } }[] } } | undefined;
        const token = volume?.projected.sources[0]?.serviceAccountToken ?? assert.fail('no projected token');
        assert.ok(token.audience.length > 0);
        assert.ok(token.expirationSeconds >= 600 && token.expirationSeconds <= 3600, `expirationSeconds ${token.expirationSeconds}`);
        assert.equal(container(pod, 'agent').volumeMounts?.find((mount) => mount.name === volume?.name)?.readOnly, true);
      });

      test('every flag and environment variable the chart passes is one the CLI accepts, with values in range', () => {
        const m = manifests(render.name);
        const agent = container(agentPod(m), 'agent');
        const aggregator = container(aggregatorPod(m), 'aggregator');
        assert.equal(agent.args?.[0], 'agent');
        assert.equal(aggregator.args?.[0], 'aggregator');
        for (const [c, help] of [[agent, agentHelp], [aggregator, aggregatorHelp]] as const) {
          // Unquoted, YAML 1.1 (the API server's) reads on, off, yes, no as booleans: not an argv.
          for (const value of [...(c.args ?? []), ...(c.env ?? []).map((e) => e.value ?? '')]) assert.equal(typeof value, 'string', `${c.name}: ${String(value)} is not a string in YAML 1.1: quote it`);
          for (const arg of c.args ?? []) if (arg.startsWith('--')) assert.ok(help.includes(`[${arg} `) || help.includes(`${arg} `), `${c.name} --help does not mention ${arg}`);
          for (const { name } of c.env ?? []) assert.match(help, new RegExp(`\\b${name}\\b`), `${c.name} --help does not mention ${name}`);
        }
        // The CLI's own parsers and validation: an unknown flag or an out-of-range value throws.
        const agentRead = agentSettingsOf(agent);
        assert.equal(agentRead.nodeName, 'node-a');
        assert.equal(agentRead.procRoot, '/host/proc');
        aggregatorSettingsOf(aggregator);
      });
    });
  }

  test('default values: the components\' settings are the CLI\'s defaults, except where the chart says why', () => {
    const m = manifests('default values');
    const agent = agentSettingsOf(container(agentPod(m), 'agent'));
    const cliAgent = withEnv({ NODE_NAME: 'node-a', KUBE_NETSTAT_AGGREGATOR: agent.aggregator }, () => agentSettings([]));
    // The chart mounts a projected token for the aggregator's TokenReview; the CLI sends none unless told.
    assert.equal(agent.tokenFile, '/var/run/secrets/kube-netstat/token');
    assert.deepEqual({ ...agent, procRoot: cliAgent.procRoot, metricsListen: cliAgent.metricsListen, tokenFile: cliAgent.tokenFile }, cliAgent);
    const aggregator = aggregatorSettingsOf(container(aggregatorPod(m), 'aggregator'));
    const cliAggregator = withEnv({}, () => aggregatorSettings([]));
    // Events: the chart grants the RBAC, so it asks for them outright (`on`) rather than `auto`.
    assert.equal(aggregator.findings.events, 'on');
    // Only the chart's agents may write node state: their service account, not any pod's.
    assert.equal(aggregator.agentServiceAccount, 'kube-netstat/kube-netstat-agent');
    assert.deepEqual({ ...aggregator, agentServiceAccount: cliAggregator.agentServiceAccount, findings: { ...aggregator.findings, events: cliAggregator.findings.events } }, cliAggregator);
  });

  test('default values: the Service is where the plugin looks by default, and no optional object is rendered', () => {
    const m = manifests('default values');
    const service = aggregatorService(m);
    assert.deepEqual({ namespace: service.metadata.namespace, service: service.metadata.name, port: 'http' }, DEFAULT_AGGREGATOR);
    assert.deepEqual(m.map((x) => x.kind).sort(), ['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'DaemonSet', 'Deployment', 'Service', 'ServiceAccount', 'ServiceAccount']);
    assert.equal(agentPod(m).hostNetwork, undefined, 'no host network unless asked');
  });

  test('every feature on: NetworkPolicies, PodDisruptionBudget, ServiceMonitors on existing ports, rules passed through', () => {
    const m = manifests('every optional feature on');
    assert.equal(m.filter((x) => x.kind === 'NetworkPolicy').length, 2);
    assert.equal((one<Manifest & { spec: { maxUnavailable: number } }>(m, 'PodDisruptionBudget').spec.maxUnavailable), 1);
    for (const monitor of m.filter((x) => x.kind === 'ServiceMonitor') as (Manifest & { apiVersion: string; spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } })[]) {
      assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
      assert.equal(monitor.metadata.labels?.release, 'kube-prometheus-stack');
      const selected = m.filter((x) => x.kind === 'Service' && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => x.metadata.labels?.[k] === v)) as (Manifest & { spec: { ports: { name: string }[] } })[];
      assert.equal(selected.length, 1, `${monitor.metadata.name} selects one Service`);
      assert.ok(selected[0]!.spec.ports.some((p) => p.name === monitor.spec.endpoints[0]?.port), `${monitor.metadata.name}: port ${monitor.spec.endpoints[0]?.port}`);
      assert.equal(monitor.spec.endpoints[0]?.path, '/metrics');
    }
    assert.deepEqual(m.filter((x) => x.kind === 'ServiceMonitor').map((x) => x.metadata.labels?.['app.kubernetes.io/component']).sort(), ['agent', 'aggregator']);
    const settings = aggregatorSettingsOf(container(aggregatorPod(m), 'aggregator'));
    assert.deepEqual(
      [settings.findings.closeWait.maxAgeSeconds, settings.findings.closeWait.minGrowth, settings.findings.portPressure.warnShare, settings.findings.synRecv.minCount, settings.findings.events, settings.peerNames, settings.watchPollSeconds],
      [900, 20, 0.6, 1_000_000, 'off', 'on', 0.25],
    );
    assert.equal(agentPod(m).hostNetwork, true);
  });

  test('the Grafana dashboard ConfigMap holds dashboards/kube-netstat.json as valid JSON, labelled for the sidecar', () => {
    const map = one<Manifest & { data: Record<string, string> }>(manifests('every optional feature on'), 'ConfigMap', '-dashboard');
    assert.equal(map.metadata.labels?.grafana_dashboard, '1');
    assert.equal(map.metadata.namespace, 'monitoring');
    assert.deepEqual(JSON.parse(map.data['kube-netstat.json'] ?? ''), JSON.parse(readFileSync(`${CHART}/dashboards/kube-netstat.json`, 'utf8')));
  });

  test('NetworkPolicy: only agent pods reach the aggregator\'s gRPC port when the agents are not on the host network', () => {
    const m = renderChart('kube-netstat', 'kube-netstat', ['--set', 'networkPolicy.enabled=true']);
    type Policy = Manifest & { spec: { ingress: { ports: { port: string }[]; from?: { podSelector?: { matchLabels: Record<string, string> } }[] }[] } };
    const grpc = one<Policy>(m, 'NetworkPolicy', '-aggregator').spec.ingress.find((rule) => rule.ports[0]?.port === 'grpc');
    assert.equal(grpc?.from?.[0]?.podSelector?.matchLabels['app.kubernetes.io/component'], 'agent');
    const http = one<Policy>(m, 'NetworkPolicy', '-aggregator').spec.ingress.find((rule) => rule.ports[0]?.port === 'http');
    assert.equal(http?.from, undefined, 'http open: the API server\'s proxy connects from addresses no selector names');
  });

  describe('NOTES.txt', () => {
    /** The `kubectl netstat ...` lines helm prints after an install (client-side dry run: no cluster). */
    function noteCommands(release: string, namespace: string, args: readonly string[]): string[][] {
      const result = helm(['install', release, CHART, '--namespace', namespace, '--dry-run=client', ...args]);
      assert.equal(result.code, 0, result.stderr);
      const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'));
      assert.match(notes, /npm install -g \./, 'how to install the plugin');
      return [...notes.matchAll(/^\s+kubectl netstat (.*?)\s*(?:#.*)?$/gm)].map((match) => match[1]!.split(/\s+/));
    }

    test('the first command is kubectl netstat -A --state close-wait, reaching the default Service with no extra flags', () => {
      const commands = noteCommands('kube-netstat', 'kube-netstat', []);
      assert.deepEqual(commands[0], ['-A', '--state', 'close-wait']);
      for (const argv of commands) {
        const flags = parseQueryFlags(argv);
        assert.deepEqual({ namespace: flags.aggregatorNamespace, service: flags.aggregatorService, port: flags.aggregatorPort }, DEFAULT_AGGREGATOR);
      }
    });

    test('with another namespace and Service name, every command carries --aggregator-namespace/--aggregator-service for them', () => {
      const commands = noteCommands('rel', 'observability', ['-f', ALL_FEATURES]);
      assert.ok(commands.length >= 1);
      for (const argv of commands) {
        const flags = parseQueryFlags(argv);
        assert.deepEqual({ namespace: flags.aggregatorNamespace, service: flags.aggregatorService, port: flags.aggregatorPort }, { namespace: 'observability', service: 'netstat-query', port: 'http' });
      }
    });
  });

  describe('values.schema.json', () => {
    const schema = JSON.parse(readFileSync(`${CHART}/values.schema.json`, 'utf8')) as { properties: Record<string, { properties: Record<string, { minimum?: number; maximum?: number; propertyNames?: { enum: string[] } }> }> };

    const BAD = [
      { name: 'resources that are not an object', set: 'agent.resources=nonsense', message: /\/agent\/resources': got string, want object/ },
      { name: 'a negative replica count', set: 'aggregator.replicas=-1', message: /\/aggregator\/replicas': minimum: got -1, want 1/ },
      { name: 'a quantity that is not one', set: 'aggregator.resources.limits.memory=lots', message: /\/aggregator\/resources\/limits\/memory/ },
      { name: 'an unknown peer-names mode', set: 'aggregator.peerNames=sometimes', message: /\/aggregator\/peerNames/ },
      { name: 'an unknown leak rule', set: 'aggregator.rules.close-wait\\.max-ages=10m', message: /invalid propertyName 'close-wait.max-ages'/ },
      { name: 'a misspelt key', set: 'agent.resource.limits.cpu=1', message: /additional properties 'resource' not allowed/ },
      { name: 'an interval out of the CLI\'s range', set: 'agent.heartbeatSeconds=120', message: /\/agent\/heartbeatSeconds': maximum: got 120, want 60/ },
      { name: 'a token life under Kubernetes\' minimum', set: 'agent.aggregatorToken.expirationSeconds=60', message: /expirationSeconds': minimum/ },
      { name: 'a DaemonSet update that never proceeds', set: 'agent.updateStrategy.maxUnavailable=0', message: /maxUnavailable/ },
    ];
    for (const bad of BAD) {
      test(`rejects ${bad.name}, saying where`, () => {
        const result = helm(['template', 'kube-netstat', CHART, '--set', bad.set]);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /values don't meet the specifications of the schema/);
        assert.match(result.stderr, bad.message);
      });
    }

    test('leak-rule names are exactly those --rule takes', () => {
      assert.deepEqual(schema.properties.aggregator?.properties.rules?.propertyNames?.enum, ruleNames(AGGREGATOR.settings));
    });

    test('ranges are the CLI\'s (config/agent-settings.ts, config/aggregator-settings.ts)', () => {
      const a = AGENT.settings;
      const g = AGGREGATOR.settings;
      const ranges = [
        ['agent', 'intervalSeconds', a.intervalSeconds],
        ['agent', 'fullReadEverySeconds', a.fullReadEverySeconds],
        ['agent', 'heartbeatSeconds', a.heartbeatSeconds],
        ['aggregator', 'staleAfterSeconds', g.staleAfterSeconds],
        ['aggregator', 'evictAfterSeconds', g.evictAfterSeconds],
        ['aggregator', 'watchPollSeconds', g.watchPollSeconds],
        ['aggregator', 'maxWatches', g.maxWatches],
        ['aggregator', 'maxWatchesPerClient', g.maxWatchesPerClient],
        ['aggregator', 'metricsMaxPods', g.metricsMaxPods],
        ['aggregator', 'evaluateEverySeconds', g.findings.evaluateEverySeconds],
        ['aggregator', 'historyMaxPods', g.history.maxPods],
      ] as const;
      for (const [component, key, cli] of ranges) {
        const property = schema.properties[component]?.properties[key];
        assert.deepEqual([property?.minimum, property?.maximum], [cli.min, cli.max], `${component}.${key}`);
      }
      assert.deepEqual(schema.properties.aggregator?.properties.peerNames, { enum: g.peerNames.choices });
    });
  });
});
