/**
 * Every setting is declared once (config/agent-settings.ts, aggregator-settings.ts,
 * standalone-settings.ts): the command line, the environment, the defaults, the range checks
 * and --help all come from those declarations (config/read-settings.ts, config/usage.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AGENT, AGENT_DEFAULTS } from '../../config/agent-settings.js';
import { AGGREGATOR, AGGREGATOR_DEFAULTS } from '../../config/aggregator-settings.js';
import { readSettings } from '../../config/read-settings.js';
import { ruleNames } from '../../config/rule-flags.js';
import { defaultsOf, leaves, type Program, type SettingsTree } from '../../config/setting.js';
import { STANDALONE } from '../../config/standalone-settings.js';
import { usage } from '../../config/usage.js';
import { UsageError } from '../../config/usage-error.js';

const PROGRAMS: readonly Program<SettingsTree>[] = [AGENT, AGGREGATOR, STANDALONE];
/** What the agent cannot do without: given wherever a test reads the agent's settings. */
const AGENT_NEEDS = ['--aggregator', 'aggregator:9100', '--node-name', 'node-a'];

/** Each command's flags with their environment variables (none: flag only), as the chart and users spell them. */
const NAMES: Record<string, Record<string, string | undefined>> = {
  agent: {
    aggregator: 'KUBE_NETSTAT_AGGREGATOR',
    'node-name': 'NODE_NAME',
    'proc-root': 'KUBE_NETSTAT_PROC_ROOT',
    interval: 'KUBE_NETSTAT_INTERVAL',
    'full-read-every': 'KUBE_NETSTAT_FULL_READ_EVERY',
    heartbeat: 'KUBE_NETSTAT_HEARTBEAT',
    'metrics-listen': 'KUBE_NETSTAT_METRICS_LISTEN',
    'token-file': 'KUBE_NETSTAT_TOKEN_FILE',
    kubeconfig: 'KUBE_NETSTAT_KUBECONFIG',
    'tls-ca': 'KUBE_NETSTAT_TLS_CA',
    'tls-cert': 'KUBE_NETSTAT_TLS_CERT',
    'tls-key': 'KUBE_NETSTAT_TLS_KEY',
  },
  aggregator: {
    'agent-auth': 'KUBE_NETSTAT_AGENT_AUTH',
    'agent-audience': 'KUBE_NETSTAT_AGENT_AUDIENCE',
    'agent-service-account': 'KUBE_NETSTAT_AGENT_SERVICE_ACCOUNT',
    'query-auth': 'KUBE_NETSTAT_QUERY_AUTH',
    'auth-cache': 'KUBE_NETSTAT_AUTH_CACHE',
    'query-rate': 'KUBE_NETSTAT_QUERY_RATE',
    'query-burst': 'KUBE_NETSTAT_QUERY_BURST',
    'max-filter-values': 'KUBE_NETSTAT_MAX_FILTER_VALUES',
    'max-proxied-watches': 'KUBE_NETSTAT_MAX_PROXIED_WATCHES',
    'grpc-listen': 'KUBE_NETSTAT_GRPC_LISTEN',
    'http-listen': 'KUBE_NETSTAT_HTTP_LISTEN',
    'stale-after': 'KUBE_NETSTAT_STALE_AFTER',
    'evict-after': 'KUBE_NETSTAT_EVICT_AFTER',
    'peer-names': 'KUBE_NETSTAT_PEER_NAMES',
    kubeconfig: 'KUBE_NETSTAT_KUBECONFIG',
    context: undefined,
    'watch-poll': 'KUBE_NETSTAT_WATCH_POLL',
    'max-watches': 'KUBE_NETSTAT_MAX_WATCHES',
    'max-watches-per-client': 'KUBE_NETSTAT_MAX_WATCHES_PER_CLIENT',
    'metrics-max-pods': 'KUBE_NETSTAT_METRICS_MAX_PODS',
    'evaluate-every': 'KUBE_NETSTAT_EVALUATE_EVERY',
    events: 'KUBE_NETSTAT_EVENTS',
    'history-max-pods': 'KUBE_NETSTAT_HISTORY_MAX_PODS',
    'tls-cert': 'KUBE_NETSTAT_TLS_CERT',
    'tls-key': 'KUBE_NETSTAT_TLS_KEY',
    'tls-client-ca': 'KUBE_NETSTAT_TLS_CLIENT_CA',
  },
  standalone: { 'http-port': undefined, interval: 'KUBE_NETSTAT_INTERVAL', 'proc-root': 'KUBE_NETSTAT_PROC_ROOT', kubeconfig: 'KUBE_NETSTAT_KUBECONFIG' },
};

describe('the declarations', () => {
  for (const program of PROGRAMS) {
    const settings = leaves(program.settings).map(({ setting }) => setting);

    test(`${program.command}: exactly these flags, each with its environment variable`, () => {
      const declared = settings.flatMap((setting) => (setting.flag === undefined ? [] : [[setting.flag, setting.env]]));
      assert.deepEqual(declared.sort(), Object.entries(NAMES[program.command] ?? {}).sort());
    });

    test(`${program.command}: every --help line comes from a declaration: each flag, environment variable and threshold is listed`, () => {
      const help = usage(program);
      assert.match(help, new RegExp(`^usage: kube-netstat ${program.command} `));
      for (const setting of settings) {
        if (setting.flag !== undefined) assert.ok(help.includes(`  --${setting.flag} `), `--${setting.flag}`);
        if (setting.env !== undefined) assert.ok(help.includes(`$${setting.env}`), setting.env);
        if (setting.rule !== undefined) assert.ok(help.includes(`  ${setting.rule}=`), setting.rule);
      }
    });
  }

  test('the defaults pass their own checks: read from nothing, the settings are the defaults', () => {
    assert.deepEqual(readSettings(AGENT, AGENT_NEEDS, {}), { ...AGENT_DEFAULTS, aggregator: 'aggregator:9100', nodeName: 'node-a' });
    assert.deepEqual(readSettings(AGGREGATOR, [], {}), AGGREGATOR_DEFAULTS);
    assert.deepEqual(readSettings(STANDALONE, [], {}), defaultsOf(STANDALONE.settings));
  });

  test('--rule takes the aggregator\'s thresholds, in declaration order', () => {
    assert.deepEqual(ruleNames(AGGREGATOR.settings).slice(0, 4), ['close-wait.window', 'close-wait.min-growth', 'close-wait.max-age', 'close-wait.critical-count']);
    assert.deepEqual(ruleNames(AGENT.settings), []);
  });
});

describe('reading settings', () => {
  test('a flag wins over its environment variable, which wins over the default', () => {
    const env = { KUBE_NETSTAT_STALE_AFTER: '20', KUBE_NETSTAT_EVICT_AFTER: '600' };
    const settings = readSettings(AGGREGATOR, ['--stale-after', '30'], env);
    assert.deepEqual([settings.staleAfterSeconds, settings.evictAfterSeconds, settings.watchPollSeconds], [30, 600, AGGREGATOR_DEFAULTS.watchPollSeconds]);
  });

  const durations: Array<{ name: string; program: Program<SettingsTree>; argv: string[]; path: string[]; seconds: number }> = [
    { name: '--interval 500ms', program: AGENT, argv: [...AGENT_NEEDS, '--interval', '500ms'], path: ['intervalSeconds'], seconds: 0.5 },
    { name: '--interval "1" as the chart passes it', program: AGENT, argv: [...AGENT_NEEDS, '--interval', '1'], path: ['intervalSeconds'], seconds: 1 },
    { name: '--full-read-every 2m', program: AGENT, argv: [...AGENT_NEEDS, '--full-read-every', '2m'], path: ['fullReadEverySeconds'], seconds: 120 },
    { name: '--stale-after 5m', program: AGGREGATOR, argv: ['--stale-after', '5m'], path: ['staleAfterSeconds'], seconds: 300 },
    { name: '--stale-after "15"', program: AGGREGATOR, argv: ['--stale-after', '15'], path: ['staleAfterSeconds'], seconds: 15 },
    { name: '--watch-poll "0.5"', program: AGGREGATOR, argv: ['--watch-poll', '0.5'], path: ['watchPollSeconds'], seconds: 0.5 },
    { name: '--evict-after 1h30m', program: AGGREGATOR, argv: ['--evict-after', '1h30m'], path: ['evictAfterSeconds'], seconds: 5_400 },
    { name: '--evaluate-every 2s (seconds with their unit, as before)', program: AGGREGATOR, argv: ['--evaluate-every', '2s'], path: ['findings', 'evaluateEverySeconds'], seconds: 2 },
    { name: '--rule close-wait.max-age=1h30m', program: AGGREGATOR, argv: ['--rule', 'close-wait.max-age=1h30m'], path: ['findings', 'closeWait', 'maxAgeSeconds'], seconds: 5_400 },
    { name: 'standalone --interval 250ms', program: STANDALONE, argv: ['--interval', '250ms'], path: ['intervalSeconds'], seconds: 0.25 },
  ];
  for (const { name, program, argv, path, seconds } of durations) {
    test(`every duration flag reads durations: ${name}`, () => {
      const settings = readSettings(program, argv, {}) as unknown as Record<string, unknown>;
      assert.equal(path.reduce<unknown>((node, step) => (node as Record<string, unknown>)[step], settings), seconds);
    });
  }

  test('--rule assignments: the environment\'s first, then the flags\', later ones winning', () => {
    const settings = readSettings(AGGREGATOR, ['--rule', 'close-wait.max-age=30m', '--rule', 'stuck-queue.after=2m'], { KUBE_NETSTAT_RULES: 'close-wait.max-age=20m, syn-recv.min-count=64' });
    assert.deepEqual([settings.findings.closeWait.maxAgeSeconds, settings.findings.stuckQueue.afterSeconds, settings.findings.synRecv.minCount, settings.findings.closeWait.windowSeconds], [1_800, 120, 64, 600]);
  });

  const bad: Array<{ name: string; program: Program<SettingsTree>; argv: string[]; env?: Record<string, string>; message: RegExp }> = [
    { name: 'a duration out of range names its flag', program: AGENT, argv: [...AGENT_NEEDS, '--interval', '100ms'], message: /^--interval: Too small/ },
    { name: 'an environment variable out of range names the flag and the variable', program: AGGREGATOR, argv: [], env: { KUBE_NETSTAT_STALE_AFTER: '1' }, message: /^--stale-after \(\$KUBE_NETSTAT_STALE_AFTER\): Too small/ },
    { name: 'a duration that is none', program: AGGREGATOR, argv: ['--stale-after', 'soon'], message: /^invalid --stale-after 'soon': expected a duration/ },
    { name: 'a count that is no number', program: AGGREGATOR, argv: ['--max-watches', 'many'], message: /^invalid --max-watches 'many': expected a number/ },
    { name: 'a fraction for a count', program: AGGREGATOR, argv: ['--max-watches', '1.5'], message: /^--max-watches: .*int/ },
    { name: 'a choice that is not one', program: AGGREGATOR, argv: ['--peer-names', 'sometimes'], message: /^--peer-names: / },
    { name: 'every failing setting at once, in declaration order', program: AGENT, argv: ['--interval', '100ms'], message: /^--aggregator: expected host:port; --node-name: a node name is required \(--node-name or \$NODE_NAME\); --interval: Too small/ },
    { name: 'a threshold out of range names --rule and it', program: AGGREGATOR, argv: ['--rule', 'stuck-queue.after=1s'], message: /^--rule stuck-queue.after: Too small/ },
    { name: 'an unknown threshold lists the known', program: AGGREGATOR, argv: [], env: { KUBE_NETSTAT_RULES: 'close-wait.age=1m' }, message: /^--rule close-wait.age: no such threshold; one of close-wait.window, close-wait.min-growth, / },
    { name: 'a unit on a count threshold', program: AGGREGATOR, argv: ['--rule', 'syn-recv.min-count=5s'], message: /^invalid --rule syn-recv.min-count '5s': expected a number/ },
    { name: 'a warning share above the critical one', program: AGGREGATOR, argv: ['--rule', 'port-pressure.warn-share=0.9'], message: /warn-share must not be above port-pressure.critical-share/ },
    { name: 'a client certificate without its key', program: AGENT, argv: [...AGENT_NEEDS, '--tls-cert', 'cert.pem'], message: /^--tls-cert and --tls-key go together$/ },
    { name: 'client certificates required without a server certificate', program: AGGREGATOR, argv: ['--tls-client-ca', 'ca.pem'], message: /^--tls-client-ca needs --tls-cert and --tls-key$/ },
  ];
  for (const { name, program, argv, env = {}, message } of bad) {
    test(`a usage error: ${name}`, () => assert.throws(() => readSettings(program, argv, env), (error) => error instanceof UsageError && message.test(error.message)));
  }
});
