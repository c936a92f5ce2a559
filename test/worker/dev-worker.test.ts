// The development worker against a simulated committee that checks its quotes with the real DCAP
// verifier under the test PKI root (and its SEV-SNP reports with the real SNP verifier under the
// development ARK): provisioning, publication, readyFile, then `gatekeeper encrypt` →
// DemoContract.Invoke round trip, and the refusals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createTestPki } from '../../src/attestation/test-pki/index.js';
import { loadCollateral, verifyQuote, verifySnpReport } from '../../src/attestation/index.js';
import { createSnpTestPki, type SnpTestPki } from '../../src/attestation/test-pki/snp.js';
import { combinePartials, deriveContractKey } from '../../src/crypto/contract-key.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { sealInvocation } from '../../src/crypto/envelope.js';
import { UsageError } from '../../src/cli/args.js';
import { runEncrypt } from '../../src/cli/commands/encrypt.js';
import { runWorker } from '../../src/cli/commands/worker.js';
import { GatekeeperClient } from '../../src/rpc/client.js';
import { RpcError } from '../../src/rpc/errors.js';
import { workerReportData as reportDataFor } from '../../src/keys/wire.js';
import { saveTestPki } from '../../src/worker/test-pki-file.js';
import { SimCommittee, type ProvisionRequest } from '../sdk/sim-committee.js';

const MR_ENCLAVE = 'ab'.repeat(32);
const MR_TD = 'cd'.repeat(48);
const SNP_MEASUREMENT = '5e'.repeat(48);
let sim: SimCommittee;
let snpPki: SnpTestPki;
let endpoint: string;
let dir: string;
let rootDer: Uint8Array;
const quotesSeen: { tee: string; measurement: string }[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-dev-worker-'));
  const pki = await createTestPki();
  rootDer = pki.rootDer;
  await saveTestPki(pki, path.join(dir, 'test-pki.json'));
  snpPki = await createSnpTestPki({ product: 'Genoa' });
  await saveTestPki(pki, path.join(dir, 'test-pki-snp.json'), snpPki);
  sim = new SimCommittee(4, 3);
  endpoint = await sim.listen();
});
afterAll(async () => {
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// What a member checks (DESIGN §5.3), with the real verifier: the quote under the development root,
// report_data binding the worker keys and the nonce, and the measurement allow-list.
function attestingCommittee(allowed: string[]) {
  sim.checkProvision = async (req: ProvisionRequest) => {
    if (req.snp) {
      const r = verifySnpReport(Uint8Array.from(req.snp.report), { vcek: Uint8Array.from(req.snp.vcek), askArk: req.snp.askArkPem,
        crl: Uint8Array.from(req.snp.crl), now: new Date(), trustedArks: { Genoa: snpPki.ark.der } });
      if (!r.ok) return `report refused at ${r.step}: ${r.error}`;
      const bound = reportDataFor(Uint8Array.from(req.workerHpkeKey), Uint8Array.from(req.workerSigningKey), Uint8Array.from(req.nonce));
      if (r.reportData !== bytesToHex(bound)) return 'REPORT_DATA does not bind the worker keys and nonce';
      quotesSeen.push({ tee: 'SNP', measurement: r.measurement });
      return allowed.includes(r.measurement) ? undefined : `measurement ${r.measurement} is not allowed by the release policy`;
    }
    if (!req.dcap) return 'no DCAP quote';
    const v = verifyQuote(Uint8Array.from(req.dcap.quote), loadCollateral(req.dcap.collateralJson), { now: new Date(), trustedRoot: rootDer });
    if (!v.ok) return `quote refused at ${v.step}: ${v.error}`;
    const expected = reportDataFor(Uint8Array.from(req.workerHpkeKey), Uint8Array.from(req.workerSigningKey), Uint8Array.from(req.nonce));
    if (v.reportData !== bytesToHex(expected)) return 'report_data does not bind the worker keys and nonce';
    const measurement = v.tee === 'SGX' ? v.mrEnclave : v.mrTd;
    quotesSeen.push({ tee: v.tee, measurement });
    if (!allowed.includes(measurement)) return `measurement ${measurement} is not allowed by the release policy`;
    return undefined;
  };
}

function writeConfig(name: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({
    listen: '127.0.0.1:0', gatekeeper: endpoint, committeeKey: bytesToHex(sim.committeeKey),
    contracts: [{ id: 'demo', version: 1 }, { id: 'hex:00ff', version: 2 }],
    testPki: 'test-pki.json', tee: 'SGX',
    measurements: { mrEnclave: MR_ENCLAVE, mrSigner: '11'.repeat(32), isvProdId: 1, isvSvn: 0 },
    readyFile: `${name}.ready.json`, ...extra,
  }));
  return file;
}

async function waitForFile(file: string, ms = 30_000): Promise<string> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${file} did not appear`);
}

/** Starts `gatekeeper worker` in-process; `stop()` ends it and resolves to its exit code. */
function startWorker(config: string, flags: string[] = []) {
  const lines: string[] = [];
  let release!: (sig: string) => void;
  const stopped = new Promise<string>((r) => { release = r; });
  const done = runWorker(['--config', config, ...flags], (l) => lines.push(l), () => stopped);
  return { lines, done, stop: () => { release('SIGTERM'); return done; } };
}

function contractSecret(cid: Uint8Array, version: number): Uint8Array {
  const parts = sim.members.slice(0, sim.k).map((m) => sim.partial(m, cid, version));
  const shares = Object.fromEntries(sim.members.map((m) => [m.identifier, m.derivation.verifyingShares[m.identifier]!]));
  return deriveContractKey(combinePartials(parts, shares, sim.k, cid, version).Y, cid, version).secretKey;
}

describe('gatekeeper worker (development)', () => {
  test('provisions, publishes, serves; encrypt → Invoke round trip', async () => {
    attestingCommittee([MR_ENCLAVE]);
    const w = startWorker(writeConfig('w1'));
    const ready = JSON.parse(await waitForFile(path.join(dir, 'w1.ready.json'))) as { endpoint: string; contracts: { id: string; version: number; publicKey: string }[] };
    expect(Object.keys(ready).sort()).toEqual(['contracts', 'endpoint']);
    expect(ready.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ready.contracts.map((c) => [c.id, c.version])).toEqual([['demo', 1], ['hex:00ff', 2]]);
    expect(quotesSeen.some((q) => q.tee === 'SGX' && q.measurement === MR_ENCLAVE)).toBe(true);

    // The published keys are what clients now get, certified.
    const demoKey = sim.keys.get(`${bytesToHex(utf8('demo'))}/1`);
    expect(demoKey && bytesToHex(demoKey.publicKey)).toBe(ready.contracts[0]!.publicKey);
    expect(sim.keys.get('00ff/2')).toBeDefined();

    // gatekeeper encrypt with a client config, then Invoke.
    const plain = path.join(dir, 'plain.txt');
    const env = path.join(dir, 'plain.env');
    fs.writeFileSync(plain, 'invoke me, please');
    fs.writeFileSync(path.join(dir, 'client.json'), JSON.stringify({ endpoint, committeeKey: bytesToHex(sim.committeeKey) }));
    const out: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => out.push(s) };
    expect(await runEncrypt(['--contract', 'demo', '--version', '1', '--in', plain, '--out', env, '--client-config', path.join(dir, 'client.json')], io)).toBe(0);
    expect(out.join('')).toMatch(/certificate verified/);
    const demo = new GatekeeperClient(ready.endpoint);
    try {
      const res = await demo.call<{ plaintextSha256: Uint8Array; length: string }>('DemoContract', 'Invoke', { envelope: fs.readFileSync(env) });
      expect(Buffer.from(res.plaintextSha256)).toEqual(createHash('sha256').update('invoke me, please').digest());
      expect(res.length).toBe('17');

      // Latest version of a hex contract id, via --committee-key and --endpoint.
      const env2 = path.join(dir, 'plain2.env');
      expect(await runEncrypt(['--contract', 'hex:00ff', '--in', plain, '--out', env2, '--committee-key', bytesToHex(sim.committeeKey), '--endpoint', endpoint], io)).toBe(0);
      const res2 = await demo.call<{ length: string }>('DemoContract', 'Invoke', { envelope: fs.readFileSync(env2) });
      expect(res2.length).toBe('17');

      // A tampered envelope: INVALID_ARGUMENT.
      const bad = Uint8Array.from(fs.readFileSync(env));
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
      const e1 = await demo.call('DemoContract', 'Invoke', { envelope: bad }).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(RpcError);
      expect((e1 as RpcError).code).toBe(status.INVALID_ARGUMENT);
      expect((e1 as RpcError).message).toMatch(/does not decrypt/);
      // Not an envelope at all: INVALID_ARGUMENT saying why.
      const e2 = await demo.call('DemoContract', 'Invoke', { envelope: utf8('hello') }).catch((e: unknown) => e);
      expect((e2 as RpcError).code).toBe(status.INVALID_ARGUMENT);
      expect((e2 as RpcError).message).toMatch(/invalid invocation envelope: unsupported format version/);
      // A contract it does not hold: NOT_FOUND.
      const other = await sealInvocation(Uint8Array.from(Buffer.from(ready.contracts[0]!.publicKey, 'hex')), utf8('other'), 1, utf8('x'));
      const e3 = await demo.call('DemoContract', 'Invoke', { envelope: other }).catch((e: unknown) => e);
      expect((e3 as RpcError).code).toBe(status.NOT_FOUND);
      // Relabelled to another version of the same contract: NOT_FOUND (it holds v1 only).
      const relabelled = Uint8Array.from(fs.readFileSync(env));
      relabelled[3 + 4 + 3] = 9;
      const e4 = await demo.call('DemoContract', 'Invoke', { envelope: relabelled }).catch((e: unknown) => e);
      expect((e4 as RpcError).code).toBe(status.NOT_FOUND);
    } finally {
      demo.close();
    }

    expect(await w.stop()).toBe(0);
    const log = w.lines.join('\n');
    expect(log).toMatch(/DEVELOPMENT worker/);
    expect(log).toMatch(/published [0-9a-f]{66}/);
    expect(log).toMatch(/invoke: contract/);
    // Never a secret: not the contract keys, not the plaintext.
    expect(log).not.toContain(bytesToHex(contractSecret(utf8('demo'), 1)));
    expect(log).not.toContain('invoke me');
  });

  test('TDX quotes work too', async () => {
    attestingCommittee([MR_TD]);
    const w = startWorker(writeConfig('w-tdx', { tee: 'TDX', measurements: { mrTd: MR_TD }, contracts: [{ id: 'tdx-demo', version: 1 }] }));
    const ready = JSON.parse(await waitForFile(path.join(dir, 'w-tdx.ready.json'))) as { contracts: { id: string }[] };
    expect(ready.contracts.map((c) => c.id)).toEqual(['tdx-demo']);
    expect(quotesSeen.some((q) => q.tee === 'TDX' && q.measurement === MR_TD)).toBe(true);
    expect(await w.stop()).toBe(0);
  });

  test('SEV-SNP reports with --tee snp (or "tee": "SNP"), from the SNP development PKI in the test-PKI file', async () => {
    attestingCommittee([SNP_MEASUREMENT]);
    // An SGX config turned into an SNP guest by the flag: measurements are read for the TEE it runs as.
    const file = writeConfig('w-snp', { testPki: 'test-pki-snp.json', measurements: { measurement: SNP_MEASUREMENT }, contracts: [{ id: 'snp-demo', version: 1 }] });
    const w = startWorker(file, ['--tee', 'snp']);
    const ready = JSON.parse(await waitForFile(path.join(dir, 'w-snp.ready.json'))) as { contracts: { id: string }[] };
    expect(ready.contracts.map((c) => c.id)).toEqual(['snp-demo']);
    expect(quotesSeen.some((q) => q.tee === 'SNP' && q.measurement === SNP_MEASUREMENT)).toBe(true);
    expect(await w.stop()).toBe(0);
    expect(w.lines.join('\n')).toMatch(/attesting as an SEV-SNP Genoa guest/);
    const viaConfig = startWorker(writeConfig('w-snp2', { tee: 'SNP', testPki: 'test-pki-snp.json', measurements: { measurement: SNP_MEASUREMENT },
      contracts: [{ id: 'snp-demo-2', version: 1 }] }));
    await waitForFile(path.join(dir, 'w-snp2.ready.json'));
    expect(await viaConfig.stop()).toBe(0);
    // A test-PKI file without the SNP part, a bad --tee, SNP without its measurement: usage errors.
    await expect(runWorker(['--config', writeConfig('snp-no-pki', { measurements: { measurement: SNP_MEASUREMENT } }), '--tee', 'snp'], () => {}))
      .rejects.toThrow(/no SEV-SNP development PKI/);
    await expect(runWorker(['--config', file, '--tee', 'sev'], () => {})).rejects.toThrow(/--tee must be sgx, tdx or snp/);
    await expect(runWorker(['--config', writeConfig('snp-no-m', { tee: 'SNP' })], () => {})).rejects.toThrow(/"measurements.measurement" must be 48 bytes/);
  });

  test('a refused measurement: exit 1, nothing served, the reason logged', async () => {
    attestingCommittee(['00'.repeat(32)]);
    const w = startWorker(writeConfig('w-refused'));
    expect(await w.done).toBe(1);
    expect(w.lines.join('\n')).toMatch(/measurement (ab)+ is not allowed by the release policy/);
    expect(fs.existsSync(path.join(dir, 'w-refused.ready.json'))).toBe(false);
  });

  test('retries provisioning while the committee answers a transient status (DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED), then provisions', async () => {
    attestingCommittee([MR_ENCLAVE]);
    const verdict = sim.checkProvision;
    const transient = [status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED];
    sim.checkProvision = async (req) => {
      const code = transient.shift();
      if (code !== undefined) throw new RpcError(code, 'only 2 of the 3 members needed released a partial');
      return verdict(req);
    };
    const w = startWorker(writeConfig('w-retry'));
    try {
      await waitForFile(path.join(dir, 'w-retry.ready.json'));
      expect(transient).toEqual([]);
      expect(w.lines.some((l) => /committee answered DEADLINE_EXCEEDED .*retry 1\//.test(l))).toBe(true);
      expect(w.lines.some((l) => /committee answered RESOURCE_EXHAUSTED .*retry 2\//.test(l))).toBe(true);
    } finally {
      expect(await w.stop()).toBe(0);
    }
  });

  test('does not start without a test PKI, and refuses a bad config', async () => {
    const noPki = writeConfig('no-pki');
    const cfg = JSON.parse(fs.readFileSync(noPki, 'utf8')) as Record<string, unknown>;
    delete cfg.testPki;
    fs.writeFileSync(noPki, JSON.stringify(cfg));
    await expect(runWorker(['--config', noPki], () => {})).rejects.toThrow(/"testPki" is required: this is a DEVELOPMENT worker/);
    await expect(runWorker(['--config', writeConfig('missing-pki', { testPki: 'nope.json' })], () => {})).rejects.toThrow(UsageError);
    await expect(runWorker(['--config', writeConfig('bad-key', { committeeKey: 'ab' })], () => {})).rejects.toThrow(/committeeKey/);
    await expect(runWorker(['--config', writeConfig('bad-tee', { tee: 'SEV' })], () => {})).rejects.toThrow(/"tee"/);
    await expect(runWorker(['--config', writeConfig('bad-m', { measurements: { mrTd: MR_TD } })], () => {})).rejects.toThrow(/mrEnclave/);
    await expect(runWorker(['--config', writeConfig('bad-v', { contracts: [{ id: 'demo', version: 0 }] })], () => {})).rejects.toThrow(/version/);
    await expect(runWorker(['--config', writeConfig('extra', { colour: 'red' })], () => {})).rejects.toThrow(/unknown config field "colour"/);
    await expect(runWorker([], () => {})).rejects.toThrow(/--config is required/);
  });
});

describe('gatekeeper encrypt', () => {
  const io = () => { const out: string[] = []; return { out, io: { stdout: (s: string) => out.push(s), stderr: (s: string) => out.push(s) } }; };

  test('refuses an uncertified key with exit 1 and writes nothing', async () => {
    sim.certifyKey(utf8('enc-test'), 1, Uint8Array.from(Buffer.from('02' + '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798', 'hex')));
    sim.tamperContractKey = (r) => ({ ...r, generation: 5 });
    const plain = path.join(dir, 'p');
    fs.writeFileSync(plain, 'x');
    const { out, io: o } = io();
    try {
      expect(await runEncrypt(['--contract', 'enc-test', '--in', plain, '--out', path.join(dir, 'refused.env'), '--committee-key', bytesToHex(sim.committeeKey), '--endpoint', endpoint], o)).toBe(1);
    } finally {
      sim.tamperContractKey = (r) => r;
    }
    expect(out.join('')).toMatch(/refused: ContractKeyCertificateError/);
    expect(fs.existsSync(path.join(dir, 'refused.env'))).toBe(false);
    // Pinned to another committee key: refused too.
    expect(await runEncrypt(['--contract', 'enc-test', '--in', plain, '--out', path.join(dir, 'refused.env'), '--committee-key', 'aa'.repeat(32), '--endpoint', endpoint], o)).toBe(1);
  });

  test('bad usage is a UsageError (exit 2)', async () => {
    const { io: o } = io();
    const key = bytesToHex(sim.committeeKey);
    await expect(runEncrypt(['--in', 'a', '--out', 'b', '--committee-key', key, '--endpoint', endpoint], o)).rejects.toThrow(/--contract is required/);
    await expect(runEncrypt(['--contract', 'demo', '--in', 'a', '--out', 'b', '--endpoint', endpoint], o)).rejects.toThrow(/pinned committee key is required/);
    await expect(runEncrypt(['--contract', 'demo', '--in', 'a', '--out', 'b', '--committee-key', 'zz', '--endpoint', endpoint], o)).rejects.toThrow(/64 hex/);
    await expect(runEncrypt(['--contract', 'demo', '--version', '0', '--in', 'a', '--out', 'b', '--committee-key', key, '--endpoint', endpoint], o)).rejects.toThrow(/--version/);
    await expect(runEncrypt(['--contract', 'hex:0', '--in', 'a', '--out', 'b', '--committee-key', key, '--endpoint', endpoint], o)).rejects.toThrow(/--contract/);
    await expect(runEncrypt(['--contract', 'demo', '--in', path.join(dir, 'nope'), '--out', 'b', '--committee-key', key, '--endpoint', endpoint], o)).rejects.toThrow(/cannot read --in/);
    await expect(runEncrypt(['--contract', 'demo', '--in', 'a', '--out', 'b', '--committee-key', key], o)).rejects.toThrow(/--endpoint/);
  });
});
