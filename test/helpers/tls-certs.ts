// Throwaway X.509 material for TLS/mTLS tests, made by the `openssl` command line in a temp dir at test
// time (keys and certificates are never committed). P-256 keys keep generation fast.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface CertFiles {
  certFile: string;
  keyFile: string;
  /** SHA-256 of the certificate's DER, lowercase hex, as computed by openssl (not by the code under test). */
  fingerprint: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signed `server`, `operator` and `stranger`. */
  ca: CertFiles;
  /** A second, unrelated CA and a client certificate it signed. */
  otherCa: CertFiles;
  otherClient: CertFiles;
  /** Server certificate with subjectAltName IP:127.0.0.1. */
  server: CertFiles;
  /** Client certificates (extendedKeyUsage clientAuth) signed by `ca`. */
  operator: CertFiles;
  stranger: CertFiles;
}

function openssl(args: string[], cwd: string): string {
  try {
    return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') {
      throw new Error('the TLS tests need the `openssl` command line to make test certificates; install it (Debian: apt-get install openssl)');
    }
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  }
}

function fingerprintOf(certFile: string, dir: string): string {
  const out = openssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], dir);
  const m = /Fingerprint=([0-9A-Fa-f:]+)/.exec(out);
  if (!m) throw new Error(`unexpected openssl fingerprint output: ${out}`);
  return m[1]!.replace(/:/g, '').toLowerCase();
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(dir: string, name: string): CertFiles {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.pem`);
  openssl(['req', '-x509', ...KEY_ARGS, '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=gatekeeper test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { certFile, keyFile, fingerprint: fingerprintOf(certFile, dir) };
}

let serial = 1;

function makeLeaf(dir: string, ca: CertFiles, name: string, extensions: string[]): CertFiles {
  const keyFile = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const certFile = path.join(dir, `${name}.pem`);
  const extFile = path.join(dir, `${name}.ext`);
  fs.writeFileSync(extFile, ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', ...extensions].join('\n') + '\n');
  openssl(['req', '-new', ...KEY_ARGS, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(serial++), '-days', '2',
    '-sha256', '-extfile', extFile, '-out', certFile], dir);
  return { certFile, keyFile, fingerprint: fingerprintOf(certFile, dir) };
}

/** Makes a CA, a server certificate for 127.0.0.1, two client certificates, and an unrelated CA + client. */
export function makeTestPki(dir: string): TestPki {
  const ca = makeCa(dir, 'ca');
  const otherCa = makeCa(dir, 'other-ca');
  const client = ['extendedKeyUsage=clientAuth'];
  return {
    dir, ca, otherCa,
    server: makeLeaf(dir, ca, 'server', ['extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1']),
    operator: makeLeaf(dir, ca, 'operator', client),
    stranger: makeLeaf(dir, ca, 'stranger', client),
    otherClient: makeLeaf(dir, otherCa, 'other-client', client),
  };
}
