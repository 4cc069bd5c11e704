// Test certificates made with openssl: a throwaway CA, a server certificate for
// 127.0.0.1/localhost and a client certificate, as cert-manager would write them.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting it must not be enough. */
  otherCa: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): { crt: string; key: string } {
  const crt = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', ...EC_KEY, '-keyout', key, '-out', crt, '-days', '1', '-subj', `/CN=faceshard ${name}`]);
  return { crt, key };
}

function signLeaf(dir: string, name: string, ca: { crt: string; key: string }, extensions: string): { crt: string; key: string } {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const crt = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['req', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-CAcreateserial', '-out', crt, '-days', '1', '-extfile', ext]);
  return { crt, key };
}

export function makeTestCertificates(dir: string): TestCertificates {
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other-ca');
  const server = signLeaf(dir, 'server', ca, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const client = signLeaf(dir, 'client', ca, 'extendedKeyUsage=clientAuth\n');
  return { ca: ca.crt, serverCert: server.crt, serverKey: server.key, clientCert: client.crt, clientKey: client.key, otherCa: other.crt };
}

/** nats-server's `tls` block: clients must speak TLS, and with `verify` present a certificate of `ca`. */
export function natsTlsConfig(certs: TestCertificates, verify: boolean): string {
  return `tls {\n  cert_file: "${certs.serverCert}"\n  key_file: "${certs.serverKey}"\n  ca_file: "${certs.ca}"\n  verify: ${verify}\n  timeout: 2\n}\n`;
}
