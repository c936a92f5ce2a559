// Release policies in the path a member takes for every release (src/node/contract-keys.ts):
// parseReleasePolicy, then evaluatePolicy(verdict, attestationPolicyFor(policy, namespace, binding)).
// Issue 10 items 1 and 2 are replayed here with verified test-PKI quotes bound like a worker's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createTestPki, type TestPki } from '../../src/attestation/test-pki/index.js';
import { evaluatePolicy, loadCollateral, verifyQuote, type Collateral, type SnpEvidence, type Verdict } from '../../src/attestation/index.js';
import { attestationPolicyFor, MAX_POLICY_SIGNATURES, parseReleasePolicy, ReleasePolicyError, verifyPolicySignatures, type ReleasePolicy } from '../../src/keys/release-policy.js';
import { generateIdentityKey, signTagged } from '../../src/crypto/identity.js';
import { workerReportData } from '../../src/keys/wire.js';
import { DEMO_MEASUREMENTS, DEMO_SNP_MEASUREMENT, demoReleasePolicy } from '../../src/devnet/devnet.js';
import { loadTestPki, saveTestPki } from '../../src/worker/test-pki-file.js';
import { dcapQuoteMaker, testPkiQuoteMaker } from '../../src/worker/quotes.js';
import { parseWorkerConfig, type DcapMeasurements } from '../../src/worker/config.js';
import { createSnpTestPki } from '../../src/attestation/test-pki/snp.js';
import { verifySnpReport } from '../../src/attestation/snp/verify.js';
import type { SnpAttestation } from '../../src/sdk/worker.js';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const SGX = { mrEnclave: fill(32, 0xaa), mrSigner: fill(32, 0xbb), isvProdId: 3, isvSvn: 2 };
const MRTD = fill(48, 0xcc);
const RTMRS = [fill(48, 1), fill(48, 2), fill(48, 3), fill(48, 4)];

let pki: TestPki;
let sgxCol: Collateral;
let tdxCol: Collateral;

/** A fresh worker binding, as the worker SDK puts it into report_data (docs/provisioning.md §2). */
function binding(): Uint8Array {
  return workerReportData(randomBytes(65), randomBytes(32), randomBytes(32));
}
/** What a member does with a verified quote: the namespace's policy with this worker's binding. */
function release(policy: ReleasePolicy, verdict: Verdict | SnpEvidence, reportData: Uint8Array, namespace = 'payments') {
  return evaluatePolicy(verdict, attestationPolicyFor(policy, namespace, reportData));
}
function verified(quote: Uint8Array, col: Collateral): Verdict {
  const v = verifyQuote(quote, col, { now: new Date(), trustedRoot: pki.rootDer });
  if (!v.ok) throw new Error(`test quote refused at ${v.step}: ${v.error}`);
  return v;
}
function parseError(o: unknown): string {
  try { parseReleasePolicy(json(o)); } catch (err) { expect(err).toBeInstanceOf(ReleasePolicyError); return (err as Error).message; }
  throw new Error('the policy parsed');
}

beforeAll(async () => {
  pki = await createTestPki();
  sgxCol = await pki.collateral({ tee: 'SGX' });
  tdxCol = await pki.collateral({ tee: 'TDX' });
});

const base = { id: 'p', serial: 1, publicationQuorum: 2, attestation: { allowedStatuses: ['UpToDate'] } };
const sgxNamespace = { sgx: { mrEnclave: [hex(SGX.mrEnclave)], mrSigner: [hex(SGX.mrSigner)], isvProdId: SGX.isvProdId } };
const tdxNamespace = (extra: Record<string, unknown> = {}) => ({ tdx: { mrTd: [hex(MRTD)], rtmrs: RTMRS.map((r) => [hex(r)]), ...extra } });

describe('issue 10 item 1 in the release path', () => {
  it('the probe: an SGX-only namespace without tees refuses a verified TDX quote with an arbitrary MRTD', () => {
    const policy = parseReleasePolicy(json({ ...base, namespaces: { payments: sgxNamespace } }));
    expect(attestationPolicyFor(policy, 'payments', binding()).tees).toEqual(['SGX']);
    const rd = binding();
    const v = verified(pki.buildTdxQuoteV4({ mrTd: randomBytes(48), reportData: rd }), tdxCol);
    expect(v).toMatchObject({ ok: true, tee: 'TDX', reportData: bytesToHex(rd) });
    expect(release(policy, v, rd)).toEqual({ ok: false, check: 'tee', error: 'TDX workers are not allowed by this policy (it admits SGX)' });
    // attestation.tees naming TDX does not admit TDX without a tdx block.
    const listed = parseReleasePolicy(json({ ...base, attestation: { tees: ['SGX', 'TDX'] }, namespaces: { payments: sgxNamespace } }));
    expect(release(listed, v, rd)).toMatchObject({ ok: false, check: 'tee' });
    // The SGX worker it names is released to.
    const sgxRd = binding();
    expect(release(policy, verified(pki.buildSgxQuoteV3({ ...SGX, reportData: sgxRd }), sgxCol), sgxRd)).toEqual({ ok: true });
  });
  it('SNP evidence is refused by a namespace without an snp block', () => {
    const policy = parseReleasePolicy(json({ ...base, namespaces: { payments: { ...sgxNamespace, ...tdxNamespace() } } }));
    const rd = binding();
    const snp: SnpEvidence = { ok: true, tee: 'SNP', measurement: 'ab'.repeat(48), hostData: '00'.repeat(32), idKeyDigest: '00'.repeat(48),
      authorKeyDigest: '00'.repeat(48), reportData: bytesToHex(rd), guestSvn: 0, vmpl: 0, debug: false, migrateMa: false,
      reportedTcb: { bootloader: 9, tee: 0, snp: 23, microcode: 72 } };
    expect(release(policy, snp, rd)).toEqual({ ok: false, check: 'tee', error: 'SNP workers are not allowed by this policy (it admits SGX, TDX)' });
    const withSnp = parseReleasePolicy(json({ ...base, namespaces: { payments: { snp: { measurement: ['ab'.repeat(48)] } } } }));
    expect(release(withSnp, snp, rd)).toEqual({ ok: true });
    expect(release(withSnp, snp, binding())).toMatchObject({ ok: false, check: 'report-data' });
  });
  it('mrSigner without isvProdId is refused at parse', () => {
    expect(parseError({ ...base, namespaces: { payments: { sgx: { mrSigner: [hex(SGX.mrSigner)], minIsvSvn: 1 } } } }))
      .toMatch(/namespaces.payments: sgx.mrSigner requires sgx.isvProdId/);
  });
  it('a namespace without any allow-list, or whose TEEs attestation.tees excludes, is refused at parse', () => {
    expect(parseError({ ...base, namespaces: { payments: {} } })).toMatch(/namespaces.payments must allow-list measurements for at least one TEE/);
    expect(parseError({ ...base, namespaces: { payments: { sgx: {} } } })).toMatch(/sgx must allow-list mrEnclave or mrSigner/);
    expect(parseError({ ...base, attestation: { tees: ['SGX'] }, namespaces: { payments: tdxNamespace() } })).toMatch(/namespaces.payments admits no TEE/);
    expect(parseError({ ...base, attestation: { snp: { measurement: ['ab'.repeat(48)] } }, namespaces: { payments: sgxNamespace } }))
      .toMatch(/attestation.snp is not allowed: measurements belong to a namespace/);
  });
});

describe('issue 10 item 2 in the release path', () => {
  it('the probe: the allowed MRTD with random RTMRs, MRCONFIGID and MROWNER is refused', () => {
    const policy = parseReleasePolicy(json({ ...base, namespaces: { payments: tdxNamespace() } }));
    const rd = binding();
    expect(release(policy, verified(pki.buildTdxQuoteV4({ mrTd: MRTD, rtmrs: RTMRS, reportData: rd }), tdxCol), rd)).toEqual({ ok: true });
    const probe = verified(pki.buildTdxQuoteV4({ mrTd: MRTD, rtmrs: RTMRS.map(() => randomBytes(48)), mrConfigId: randomBytes(48),
      mrOwner: randomBytes(48), reportData: rd }), tdxCol);
    expect(release(policy, probe, rd)).toMatchObject({ ok: false, check: 'rtmr' });
    const hostChosen = verified(pki.buildTdxQuoteV4({ mrTd: MRTD, rtmrs: RTMRS, mrConfigId: randomBytes(48), mrOwner: randomBytes(48), reportData: rd }), tdxCol);
    expect(release(policy, hostChosen, rd)).toMatchObject({ ok: false, check: 'mr-config-id' });
    const owner = verified(pki.buildTdxQuoteV4({ mrTd: MRTD, rtmrs: RTMRS, mrOwner: randomBytes(48), reportData: rd }), tdxCol);
    expect(release(policy, owner, rd)).toMatchObject({ ok: false, check: 'mr-owner' });
  });
  it('a TDX namespace without the runtime pins is refused at parse', () => {
    expect(parseError({ ...base, namespaces: { payments: { tdx: { mrTd: [hex(MRTD)] } } } })).toMatch(/namespaces.payments: tdx.rtmrs must pin all four RTMRs/);
    expect(parseError({ ...base, namespaces: { payments: { tdx: { mrTd: [hex(MRTD)], rtmrs: [[hex(RTMRS[0]!)], null, null, null] } } } }))
      .toMatch(/tdx.rtmrs\[1\] must be an array/);
  });
});

describe('parse errors are bounded', () => {
  it('unknown field, namespace and block names longer than 64 characters are cut', () => {
    const long = 'k'.repeat(5000);
    const messages = [
      parseError({ ...base, [long]: 1, namespaces: {} }),
      parseError({ ...base, namespaces: { [long]: sgxNamespace } }),
      parseError({ ...base, namespaces: { payments: { ...sgxNamespace, [long]: {} } } }),
      parseError({ ...base, namespaces: { payments: { sgx: { ...sgxNamespace.sgx, [long]: 1 } } } }),
      parseError({ ...base, attestation: { [long]: 1 }, namespaces: { payments: sgxNamespace } }),
    ];
    for (const m of messages) {
      expect(m).toContain('k'.repeat(64) + '...');
      expect(m.length).toBeLessThan(200);
    }
    expect(() => attestationPolicyFor(parseReleasePolicy(json({ ...base, namespaces: { payments: sgxNamespace } })), long, binding()))
      .toThrow(/has no namespace 'k{64}\.\.\.'$/);
  });
  it('control characters in quoted names are escaped', () => {
    expect(parseError({ ...base, 'a\nb\u0000': 1, namespaces: {} })).toContain("'a\\nb\\u0000'");
  });
  it('a name of the Object prototype is not a namespace', () => {
    const policy = parseReleasePolicy(json({ ...base, namespaces: { payments: sgxNamespace } }));
    expect(() => attestationPolicyFor(policy, 'constructor', binding())).toThrow(/has no namespace 'constructor'/);
  });
});

describe('the devnet policy admits exactly the development worker', () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-policy-')); });
  afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('the development worker quotes what demoReleasePolicy pins; TDX and SNP workers are refused in namespace demo', async () => {
    const policy = parseReleasePolicy(demoReleasePolicy(1, 3));
    expect(policy.namespaces.demo).toEqual({ sgx: { mrEnclave: [DEMO_MEASUREMENTS.mrEnclave], mrSigner: [DEMO_MEASUREMENTS.mrSigner],
      isvProdId: DEMO_MEASUREMENTS.isvProdId, minIsvSvn: DEMO_MEASUREMENTS.isvSvn } });
    const file = path.join(dir, 'test-pki.json');
    const snpPki = await createSnpTestPki();
    await saveTestPki(pki, file, snpPki);
    const loaded = loadTestPki(file);
    const config = (tee: string, measurements: unknown) => parseWorkerConfig(JSON.stringify({ listen: '127.0.0.1:0', gatekeeper: '127.0.0.1:1',
      committeeKey: '00'.repeat(32), contracts: [{ id: 'demo', version: 1 }], testPki: file, tee, measurements }), path.join(dir, 'w.json'));
    // The same config the devnet writes for its worker, and the worker's own quote maker.
    const sgxWorker = dcapQuoteMaker(loaded, config('SGX', DEMO_MEASUREMENTS).measurements as DcapMeasurements);
    const rd = binding();
    const q = await sgxWorker(rd);
    const v = verifyQuote(q.quote, loadCollateral(q.collateralJson), { now: new Date(), trustedRoot: loaded.rootDer });
    expect(release(policy, v, rd, 'demo')).toEqual({ ok: true });
    const tdxWorker = dcapQuoteMaker(loaded, config('TDX', { mrTd: hex(randomBytes(48)) }).measurements as DcapMeasurements);
    const t = await tdxWorker(rd);
    const tv = verifyQuote(t.quote, loadCollateral(t.collateralJson), { now: new Date(), trustedRoot: loaded.rootDer });
    expect(tv.ok).toBe(true);
    expect(release(policy, tv, rd, 'demo')).toMatchObject({ ok: false, check: 'tee' });
    // The SNP worker's reports verify against the saved development ARK and pass namespace demo-snp only.
    const snpWorker = testPkiQuoteMaker(loaded, config('SNP', { measurement: DEMO_SNP_MEASUREMENT }).measurements);
    const { snp } = (await snpWorker(rd)) as SnpAttestation;
    const sv = verifySnpReport(snp.report, { vcek: snp.vcek, askArk: snp.askArkPem, crl: snp.crl, now: new Date(), trustedArks: { Milan: loaded.snp!.arkDer } });
    expect(sv).toMatchObject({ ok: true, measurement: DEMO_SNP_MEASUREMENT, reportData: hex(rd) });
    if (!sv.ok) return;
    expect(release(policy, sv, rd, 'demo-snp')).toEqual({ ok: true });
    expect(release(policy, sv, rd, 'demo')).toMatchObject({ ok: false, check: 'tee', error: expect.stringMatching(/SNP workers are not allowed/) });
    expect(release(policy, v, rd, 'demo-snp')).toMatchObject({ ok: false, check: 'tee' });
  });
});

describe('release policy signatures (bench/chaos finding)', () => {
  const g = [generateIdentityKey(), generateIdentityKey()];
  const keys = g.map((k) => bytesToHex(k.publicKey));
  const policyJson = json(base);
  const sig = (i: number) => ({ key: g[i]!.publicKey, signature: signTagged(g[i]!.secretKey, 'policy', policyJson) });

  test('one valid signature repeated 20,000 times is refused at once, not verified 20,000 times', () => {
    const one = sig(0);
    const many = Array.from({ length: 20_000 }, () => one);
    const t0 = performance.now();
    expect(() => verifyPolicySignatures(policyJson, many, keys, 2))
      .toThrow(new ReleasePolicyError(`the policy carries 20000 signatures; at most ${MAX_POLICY_SIGNATURES} are accepted`));
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test('a key counts once however often it signs; two distinct keys pass', () => {
    let err: unknown;
    const one = sig(0);
    try { verifyPolicySignatures(policyJson, Array.from({ length: MAX_POLICY_SIGNATURES }, () => one), keys, 2); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ReleasePolicyError);
    expect((err as ReleasePolicyError).kind).toBe('unauthorized');
    expect(() => verifyPolicySignatures(policyJson, [sig(0), sig(0), sig(1)], keys, 2)).not.toThrow();
  });
});
