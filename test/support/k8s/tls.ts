/**
 * A throw-away certificate authority and a serving certificate for 127.0.0.1, ::1 and
 * localhost, made with the `openssl` CLI (node:crypto cannot issue X.509 certificates). The
 * files exist only while openssl runs: the PEM text is read back and the directory removed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../netns.js';

export interface ServingCertificate {
  /** PEM of the self-signed CA; clients trust this (kubeconfig certificate-authority-data). */
  readonly caCert: string;
  /** PEM of the server certificate, issued by the CA. */
  readonly cert: string;
  /** PEM of the server's private key. */
  readonly key: string;
}

/** Valid for two days: long enough for any test run, short enough to be obviously throw-away. */
const VALID_DAYS = '2';
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** `altNames`: more subjectAltName entries (`IP:10.0.0.1`, `DNS:kubernetes.default.svc`) for clients that reach it by another address. */
export async function makeServingCertificate(altNames: readonly string[] = []): Promise<ServingCertificate> {
  const dir = mkdtempSync(join(tmpdir(), 'kns-apiserver-tls-'));
  const file = (name: string): string => join(dir, name);
  try {
    // Go's crypto/x509 (kubectl) insists on CA:TRUE with keyCertSign for the issuer and on a SAN for the host.
    await run(['openssl', 'req', '-x509', ...NEW_KEY, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', VALID_DAYS,
      '-subj', '/CN=kube-netstat-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await run(['openssl', 'req', '-x509', '-CA', file('ca.crt'), '-CAkey', file('ca.key'), ...NEW_KEY, '-keyout', file('server.key'), '-out', file('server.crt'), '-days', VALID_DAYS,
      '-subj', '/CN=kube-apiserver', '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', `subjectAltName=${['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', ...altNames].join(',')}`,
      '-addext', 'extendedKeyUsage=serverAuth', '-addext', 'keyUsage=critical,digitalSignature']);
    return { caCert: readFileSync(file('ca.crt'), 'utf8'), cert: readFileSync(file('server.crt'), 'utf8'), key: readFileSync(file('server.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
