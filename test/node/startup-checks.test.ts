// What a node refuses at start or shows about itself (issue 10 items 7, 8 and 10): a development
// attestation root needs an explicit flag and is shown in Status and metrics; reflection is a setting;
// the database folder and files must be owner-only.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { createTestPki } from '../../src/attestation/test-pki/index.js';
import { INTEL_SGX_ROOT_CA_SHA256 } from '../../src/attestation/intel-root.js';
import { createSnpTestPki } from '../../src/attestation/test-pki/snp.js';
import { AMD_ARK_SHA256, SNP_PRODUCTS } from '../../src/attestation/snp/amd-roots.js';
import { ConfigError, parseConfig } from '../../src/node/config.js';
import { GatekeeperNode } from '../../src/node/node.js';
import { checkDatabasePermissions, DatabasePermissionError, openDatabase } from '../../src/store/database.js';
import { startTestNode, tempDir } from '../helpers/node.js';
import { listServices } from '../interop/reflection-client.js';

type StatusView = { attestationRootSha256: string; developmentAttestationRoot: boolean };

function getMetrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (c) => { body += String(c); });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('attestation root', () => {
  let rootFile: string;
  let rootSha: string;
  beforeAll(async () => {
    const pki = await createTestPki();
    rootFile = path.join(tempDir('root'), 'test-root.der');
    fs.writeFileSync(rootFile, pki.rootDer);
    rootSha = createHash('sha256').update(pki.rootDer).digest('hex');
  });

  test('a test-PKI root without allowDevelopmentAttestationRoot is refused, naming the field', async () => {
    const err = await startTestNode({ attestation: { trustedRootFile: rootFile } as never }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/'attestation.trustedRootFile' names a root that is not Intel's SGX Root CA/);
    expect((err as Error).message).toContain(rootSha);
    expect((err as Error).message).toMatch(/'attestation.allowDevelopmentAttestationRoot': true/);
  });

  test('an unreadable root file is a config error naming the field', () => {
    const dir = tempDir('noroot');
    // Checked with the rest of the config, before a node (or `init`) opens anything.
    expect(() => parseConfig({ name: 'n', listen: '127.0.0.1:0', dataDir: dir, attestation: { trustedRootFile: 'missing.der', allowDevelopmentAttestationRoot: true } }, dir))
      .toThrow(/'attestation.trustedRootFile': no such file .*missing.der/);
  });

  test('with the flag the node starts, warns in its log, and shows the root in Status and metrics', async () => {
    const t = await startTestNode({ attestation: { trustedRootFile: rootFile, allowDevelopmentAttestationRoot: true, snpArkFiles: [] }, metricsListen: '127.0.0.1:0' });
    try {
      const s = await t.client.call<StatusView>('OperatorService', 'Status');
      expect(s).toMatchObject({ attestationRootSha256: rootSha, developmentAttestationRoot: true });
      expect(fs.readFileSync(t.logFile, 'utf8')).toMatch(/DEVELOPMENT attestation root/);
      expect(await getMetrics(t.node.metricsPort)).toContain(`gatekeeper_attestation_root_info{sha256="${rootSha}",development="1"} 1`);
    } finally {
      await t.stop();
    }
  });

  test('without a root file the node pins Intel\'s root and says so', async () => {
    const t = await startTestNode();
    try {
      const s = await t.client.call<StatusView>('OperatorService', 'Status');
      expect(s).toMatchObject({ attestationRootSha256: INTEL_SGX_ROOT_CA_SHA256, developmentAttestationRoot: false });
      expect(fs.readFileSync(t.logFile, 'utf8')).not.toMatch(/DEVELOPMENT attestation root/);
    } finally {
      await t.stop();
    }
  });
});

describe('SEV-SNP ARKs', () => {
  let arkFile: string;
  let vcekFile: string;
  let arkSha: string;
  beforeAll(async () => {
    const pki = await createSnpTestPki({ product: 'Genoa' });
    const dir = tempDir('snp-ark');
    arkFile = path.join(dir, 'ark.der');
    vcekFile = path.join(dir, 'vcek.pem');
    fs.writeFileSync(arkFile, pki.ark.der);
    fs.writeFileSync(vcekFile, pki.vcek.pem);
    arkSha = createHash('sha256').update(pki.ark.der).digest('hex');
  });
  type SnpStatus = { snpArkSha256: string[]; developmentSnpArk: boolean };

  test('a development ARK without allowDevelopmentAttestationRoot: the node refuses to start, naming the field', async () => {
    const err = await startTestNode({ attestation: { trustedRootFile: '', allowDevelopmentAttestationRoot: false, snpArkFiles: [arkFile] } })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/'attestation.snpArkFiles' names an ARK-Genoa that is not AMD's/);
    expect((err as Error).message).toContain(arkSha);
    expect((err as Error).message).toMatch(/'attestation.allowDevelopmentAttestationRoot': true/);
  });

  test('a file that is not an ARK is refused', () => {
    const dir = tempDir('notark');
    const cfg = parseConfig({ name: 'n', listen: '127.0.0.1:0', dataDir: dir, attestation: { snpArkFiles: [vcekFile], allowDevelopmentAttestationRoot: true } }, dir);
    expect(() => new GatekeeperNode(cfg)).toThrow(/is not an ARK \(CN must be ARK-Milan, ARK-Genoa or ARK-Turin\)/);
    expect(() => parseConfig({ name: 'n', listen: '127.0.0.1:0', dataDir: dir, attestation: { snpArkFiles: 'ark.der' } }, dir))
      .toThrow(/'attestation.snpArkFiles' must list at most 3 paths/);
  });

  test('with the flag the node starts, warns, and shows the ARK in Status and metrics; without files it trusts AMD\'s ARKs', async () => {
    const t = await startTestNode({ attestation: { trustedRootFile: '', allowDevelopmentAttestationRoot: true, snpArkFiles: [arkFile] }, metricsListen: '127.0.0.1:0' });
    try {
      const s = await t.client.call<SnpStatus>('OperatorService', 'Status');
      expect(s).toMatchObject({ snpArkSha256: [arkSha], developmentSnpArk: true });
      expect(fs.readFileSync(t.logFile, 'utf8')).toMatch(/DEVELOPMENT SEV-SNP ARK/);
      expect(await getMetrics(t.node.metricsPort)).toContain(`gatekeeper_snp_ark_info{sha256="${arkSha}",development="1"} 1`);
    } finally {
      await t.stop();
    }
    const amd = await startTestNode();
    try {
      const s = await amd.client.call<SnpStatus>('OperatorService', 'Status');
      expect(s).toMatchObject({ snpArkSha256: SNP_PRODUCTS.map((p) => AMD_ARK_SHA256[p]), developmentSnpArk: false });
      expect(fs.readFileSync(amd.logFile, 'utf8')).not.toMatch(/DEVELOPMENT SEV-SNP ARK/);
    } finally {
      await amd.stop();
    }
  });
});

describe('reflection', () => {
  test('is off by default and served with reflection: true', async () => {
    const off = await startTestNode();
    const on = await startTestNode({ reflection: true });
    try {
      await expect(listServices(off.endpoint, 'v1')).rejects.toThrow(/UNIMPLEMENTED|unimplemented|12/i);
      expect(await listServices(on.endpoint, 'v1')).toEqual(expect.arrayContaining(['gatekeeper.v1.OperatorService']));
    } finally {
      await off.stop();
      await on.stop();
    }
  });
});

describe('database permissions', () => {
  test('a new folder is made 0700 and the SQLite files 0600', () => {
    const file = path.join(tempDir('perm'), 'data', 'gatekeeper.sqlite');
    const db = openDatabase(file);
    db.prepare('CREATE TABLE IF NOT EXISTS t (x)').run();
    const mode = (p: string) => fs.statSync(p).mode & 0o777;
    expect(mode(path.dirname(file))).toBe(0o700);
    for (const suffix of ['', '-wal', '-shm']) expect(mode(file + suffix)).toBe(0o600);
    db.close();
  });

  test('an existing world-readable folder is refused, and nothing is created in it', () => {
    const dir = path.join(tempDir('perm'), 'shared');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'gatekeeper.sqlite');
    expect(() => openDatabase(file)).toThrow(DatabasePermissionError);
    expect(() => openDatabase(file)).toThrow(/readable or writable by others \(mode 0755\).*chmod 700/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a database file or WAL that others can read is refused', () => {
    const dir = path.join(tempDir('perm'), 'data');
    const file = path.join(dir, 'gatekeeper.sqlite');
    openDatabase(file).close();
    fs.chmodSync(file, 0o644);
    expect(() => checkDatabasePermissions(file)).toThrow(/gatekeeper.sqlite is readable or writable by others \(mode 0644\)/);
    fs.chmodSync(file, 0o600);
    fs.writeFileSync(file + '-wal', '');
    fs.chmodSync(file + '-wal', 0o640);
    expect(() => checkDatabasePermissions(file)).toThrow(/gatekeeper.sqlite-wal is readable/);
  });

  test('a node whose data folder is world-readable does not start', () => {
    const dir = path.join(tempDir('perm'), 'node');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o755);
    const cfg = parseConfig({ name: 'n', listen: '127.0.0.1:0', dataDir: dir }, dir);
    expect(() => new GatekeeperNode(cfg)).toThrow(DatabasePermissionError);
  });
});
