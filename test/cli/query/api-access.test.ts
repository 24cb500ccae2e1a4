/**
 * The plugin's direct kubeconfig reader (cli/query/api-access.ts) against
 * @kubernetes/client-node on the same files: the same server, namespace and request options
 * (CA, client certificate and key, TLS checks, Authorization) for every kubeconfig shape it
 * reads itself, and a hand-over to client-node for the shapes it does not.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { KubeConfigError } from '../../../kube/kubeconfig.js';
import { loadApiAccess, readPlainKubeconfig } from '../../../cli/query/api-access.js';

const dir = mkdtempSync(join(tmpdir(), 'kns-access-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n';
const b64 = (text: string): string => Buffer.from(text).toString('base64');
for (const [name, text] of [['ca.crt', CA], ['client.crt', CERT], ['client.key', KEY], ['token', 'file-token\n']] as const) writeFileSync(join(dir, name), text);

let serial = 0;
function kubeconfig(document: object): string {
  const file = join(dir, `config-${++serial}`);
  writeFileSync(file, stringify(document));
  return file;
}

const config = (cluster: object, user: object, context: object = {}): object => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
  users: [{ name: 'u', user }],
  contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', ...context } }],
  'current-context': 'ctx',
});

/** What a request is sent with, in a form both readers can be compared on. */
function comparable(options: RequestOptions): Record<string, unknown> {
  const text = (value: unknown): string | undefined => (value === undefined ? undefined : Buffer.from(value as Buffer).toString());
  const headers = options.headers as Record<string, string> | undefined;
  return { ca: text(options.ca), cert: text(options.cert), key: text(options.key), rejectUnauthorized: options.rejectUnauthorized, servername: options.servername, auth: options.auth, authorization: headers?.Authorization };
}

async function viaClientNode(files: string, context?: string): Promise<{ server: string; namespace: string | undefined; options: Record<string, unknown> }> {
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = files;
  try {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    if (context) kc.setCurrentContext(context);
    const options: RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    return { server: kc.getCurrentCluster()!.server, namespace: kc.getContextObject(kc.getCurrentContext())?.namespace || undefined, options: comparable(options) };
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  }
}

async function assertSameAsClientNode(files: string, context?: string): Promise<void> {
  const direct = readPlainKubeconfig({ env: { KUBECONFIG: files }, ...(context && { context }) });
  assert.ok(direct, 'read directly');
  const expected = await viaClientNode(files, context);
  assert.deepEqual({ server: direct.server, namespace: direct.namespace, options: comparable(await direct.requestOptions()) }, expected);
}

describe('the plugin reads plain kubeconfigs itself, as client-node does', () => {
  test('a bearer token and an inline CA; the context\'s namespace', async () => {
    await assertSameAsClientNode(kubeconfig(config({ 'certificate-authority-data': b64(CA) }, { token: 'abc' }, { namespace: 'shop' })));
  });

  test('a token file and CA file relative to the kubeconfig, insecure-skip-tls-verify and tls-server-name', async () => {
    const file = kubeconfig(config({ 'certificate-authority': 'ca.crt', 'insecure-skip-tls-verify': true, 'tls-server-name': 'api.internal' }, { tokenFile: 'token' }));
    const direct = readPlainKubeconfig({ env: { KUBECONFIG: file } })!;
    const options = comparable(await direct.requestOptions());
    // kubectl (client-go) sends the token file's token; client-node 2.0.1 ignores a user's tokenFile.
    assert.equal(options.authorization, 'Bearer file-token');
    assert.deepEqual({ ...options, authorization: undefined }, (await viaClientNode(file)).options);
  });

  test('client certificate and key, as files and as data', async () => {
    await assertSameAsClientNode(kubeconfig(config({ 'certificate-authority': join(dir, 'ca.crt') }, { 'client-certificate': 'client.crt', 'client-key': 'client.key' })));
    await assertSameAsClientNode(kubeconfig(config({}, { 'client-certificate-data': b64(CERT), 'client-key-data': b64(KEY) })));
  });

  test('basic auth', async () => {
    await assertSameAsClientNode(kubeconfig(config({}, { username: 'admin', password: 's3cret' })));
  });

  test('an exec credential plugin: its env, KUBERNETES_EXEC_INFO, and the token it prints', async () => {
    const plugin = join(dir, 'credential-plugin.sh');
    // Prints a token made of its argument, an env entry of the kubeconfig, and the exec info's kind.
    writeFileSync(plugin, `#!/bin/sh\nkind=$(printf '%s' "$KUBERNETES_EXEC_INFO" | sed 's/.*"kind":"\\([A-Za-z]*\\)".*/\\1/')\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s-%s"}}' "$1" "$CLUSTER_TAG" "$kind"\n`);
    chmodSync(plugin, 0o755);
    const exec = (command: string): object => config({}, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command, args: ['arg'], env: [{ name: 'CLUSTER_TAG', value: 'prod' }] } });
    // A command with a path separator is relative to the kubeconfig's directory, as client-go resolves it.
    const relative = readPlainKubeconfig({ env: { KUBECONFIG: kubeconfig(exec('./credential-plugin.sh')) } })!;
    assert.equal(comparable(await relative.requestOptions()).authorization, 'Bearer arg-prod-ExecCredential');
    // client-node sets no KUBERNETES_EXEC_INFO: held against it with a plugin that does not read it.
    const plain = join(dir, 'plain-plugin.sh');
    writeFileSync(plain, `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s"}}' "$1" "$CLUSTER_TAG"\n`);
    chmodSync(plain, 0o755);
    await assertSameAsClientNode(kubeconfig(exec(plain)));
  });

  test('a KUBECONFIG list merges as kubectl merges it: first definition and first current-context win', async () => {
    const first = kubeconfig({ apiVersion: 'v1', kind: 'Config', 'current-context': 'b', contexts: [{ name: 'b', context: { cluster: 'c', user: 'u', namespace: 'team-b' } }] });
    const second = kubeconfig(config({}, { token: 'second' }));
    const files = [first, second].join(delimiter);
    const direct = readPlainKubeconfig({ env: { KUBECONFIG: files } })!;
    assert.equal(direct.contextName, 'b');
    assert.equal(direct.namespace, 'team-b');
    assert.deepEqual([...direct.contextNames].sort(), ['b', 'ctx']);
    // client-node 2.0.1 takes the last file's current-context; kubectl the first's. Each context alike:
    await assertSameAsClientNode(files, 'b');
    await assertSameAsClientNode(files, 'ctx');
    // A name defined twice: the first file's entry wins (client-node 2.0.1 refuses such a list).
    const shadow = kubeconfig({ apiVersion: 'v1', kind: 'Config', users: [{ name: 'u', user: { token: 'first' } }] });
    const shadowed = readPlainKubeconfig({ env: { KUBECONFIG: [shadow, second].join(delimiter) } })!;
    assert.equal(comparable(await shadowed.requestOptions()).authorization, 'Bearer first');
  });

  test('--context picks another context; an unknown one is an error', async () => {
    const file = kubeconfig({ ...config({}, { token: 't' }), contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }, { name: 'other', context: { cluster: 'c', user: 'u', namespace: 'payments' } }] });
    assert.equal(readPlainKubeconfig({ env: { KUBECONFIG: file }, context: 'other' })?.namespace, 'payments');
    assert.throws(() => readPlainKubeconfig({ env: { KUBECONFIG: file }, context: 'missing' }), KubeConfigError);
  });

  test('auth-provider and proxy-url go to client-node', async () => {
    const provider = kubeconfig(config({}, { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } }));
    assert.equal(readPlainKubeconfig({ env: { KUBECONFIG: provider } }), undefined);
    const proxied = kubeconfig(config({ 'proxy-url': 'http://127.0.0.1:3128' }, { token: 't' }));
    assert.equal(readPlainKubeconfig({ env: { KUBECONFIG: proxied } }), undefined);
    const access = await loadApiAccess({ kubeconfig: proxied });
    assert.equal(access?.server, 'https://127.0.0.1:6443');
    assert.equal(comparable(await access!.requestOptions()).authorization, 'Bearer t');
  });
});
