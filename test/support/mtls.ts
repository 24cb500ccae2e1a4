/**
 * Throw-away PEM files for mutual TLS on the aggregator's gRPC port, made with the `openssl`
 * CLI as test/support/k8s/tls.ts makes the API server's: a CA, a server certificate it issued for
 * 127.0.0.1, ::1 and localhost, a client certificate it issued, and a client certificate
 * issued by another CA (which the server must refuse). Files, because the CLI takes paths.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './netns.js';

export interface MutualTlsFiles {
  readonly dir: string;
  /** The CA both the server and the good client certificate come from. */
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate from another CA, and that CA. */
  readonly strangerCert: string;
  readonly strangerKey: string;
  readonly strangerCa: string;
  read(path: string): Buffer;
  remove(): void;
}

/** Valid for two days: long enough for any test run, short enough to be obviously throw-away. */
const VALID_DAYS = '2';
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(file: (name: string) => string, name: string): Promise<void> {
  await run(['openssl', 'req', '-x509', ...NEW_KEY, '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', VALID_DAYS,
    '-subj', `/CN=kube-netstat-test-${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

async function issue(file: (name: string) => string, ca: string, name: string, extensions: readonly string[]): Promise<void> {
  await run(['openssl', 'req', '-x509', '-CA', file(`${ca}.crt`), '-CAkey', file(`${ca}.key`), ...NEW_KEY, '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', VALID_DAYS,
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', ...extensions.flatMap((extension) => ['-addext', extension])]);
}

export async function makeMutualTlsFiles(): Promise<MutualTlsFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'kns-mtls-'));
  const file = (name: string): string => join(dir, name);
  try {
    await makeCa(file, 'ca');
    await makeCa(file, 'stranger-ca');
    await issue(file, 'ca', 'server', ['subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost', 'extendedKeyUsage=serverAuth']);
    await issue(file, 'ca', 'client', ['extendedKeyUsage=clientAuth']);
    await issue(file, 'stranger-ca', 'stranger', ['extendedKeyUsage=clientAuth']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    ca: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    strangerCert: file('stranger.crt'),
    strangerKey: file('stranger.key'),
    strangerCa: file('stranger-ca.crt'),
    read: (path) => readFileSync(path),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
