// The examples of docs/release-policy.md are parsed and applied here, so the reference cannot drift
// from the code: every `json` block must be a valid release policy, one per TEE, each admitting a
// worker that matches it and refusing one that differs in a single pinned value.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createTestPki, type TestPki } from '../../src/attestation/test-pki/index.js';
import { evaluatePolicy, verifyQuote, type Collateral, type SnpEvidence, type Verdict } from '../../src/attestation/index.js';
import { attestationPolicyFor, parseReleasePolicy, type ReleasePolicy } from '../../src/keys/release-policy.js';
import { REPO_ROOT } from '../helpers/shared.js';

const DOC = path.join(REPO_ROOT, 'docs', 'release-policy.md');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

function examples(): ReleasePolicy[] {
  const text = fs.readFileSync(DOC, 'utf8');
  const blocks = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.map((b) => parseReleasePolicy(new TextEncoder().encode(b)));
}

let pki: TestPki;
let sgxCol: Collateral;
let tdxCol: Collateral;
const verified = (quote: Uint8Array, col: Collateral): Verdict => {
  const v = verifyQuote(quote, col, { now: new Date(), trustedRoot: pki.rootDer });
  if (!v.ok) throw new Error(`test quote refused at ${v.step}: ${v.error}`);
  return v;
};

beforeAll(async () => {
  pki = await createTestPki();
  sgxCol = await pki.collateral({ tee: 'SGX' });
  tdxCol = await pki.collateral({ tee: 'TDX' });
});

test('the doc has exactly one example per TEE and each parses', () => {
  const all = examples();
  expect(all.map((p) => Object.values(p.namespaces).flatMap((ns) => Object.keys(ns)))).toEqual([['sgx'], ['tdx'], ['snp']]);
});

test('the SGX example admits its enclave and refuses another MRENCLAVE and a lower ISVSVN', () => {
  const policy = examples()[0]!;
  const [name, ns] = Object.entries(policy.namespaces)[0]!;
  const s = ns.sgx!;
  const rd = randomBytes(64);
  const quote = (o: { mrEnclave?: Uint8Array; isvSvn?: number } = {}) => verified(pki.buildSgxQuoteV3({ mrEnclave: bytes(s.mrEnclave![0]!),
    mrSigner: bytes(s.mrSigner![0]!), isvProdId: s.isvProdId!, isvSvn: s.minIsvSvn!, reportData: rd, ...o }), sgxCol);
  const release = (v: Verdict) => evaluatePolicy(v, attestationPolicyFor(policy, name, rd));
  expect(release(quote())).toEqual({ ok: true });
  expect(release(quote({ mrEnclave: randomBytes(32) }))).toMatchObject({ ok: false, check: 'mr-enclave' });
  expect(release(quote({ isvSvn: s.minIsvSvn! - 1 }))).toMatchObject({ ok: false, check: 'isv-svn' });
  expect(release(verified(pki.buildTdxQuoteV4({ mrTd: randomBytes(48), reportData: rd }), tdxCol))).toMatchObject({ ok: false, check: 'tee' });
});

test('the TDX example admits its TD and refuses another RTMR2 or a host-chosen MRCONFIGID', () => {
  const policy = examples()[1]!;
  const [name, ns] = Object.entries(policy.namespaces)[0]!;
  const t = ns.tdx!;
  const rd = randomBytes(64);
  const rtmrs = t.rtmrs.map((r) => bytes(r[0]!));
  const quote = (o: { rtmrs?: Uint8Array[]; mrConfigId?: Uint8Array } = {}) =>
    verified(pki.buildTdxQuoteV4({ mrTd: bytes(t.mrTd[0]!), rtmrs, reportData: rd, ...o }), tdxCol);
  const release = (v: Verdict) => evaluatePolicy(v, attestationPolicyFor(policy, name, rd));
  expect(release(quote())).toEqual({ ok: true });
  expect(release(quote({ rtmrs: [rtmrs[0]!, rtmrs[1]!, randomBytes(48), rtmrs[3]!] }))).toMatchObject({ ok: false, check: 'rtmr' });
  expect(release(quote({ mrConfigId: randomBytes(48) }))).toMatchObject({ ok: false, check: 'mr-config-id' });
});

test('the SNP example admits its guest and refuses a lower SNP firmware SVN, VMPL 1 and a migration agent', () => {
  const policy = examples()[2]!;
  const [name, ns] = Object.entries(policy.namespaces)[0]!;
  const s = ns.snp!;
  const rd = randomBytes(64);
  const m = s.minTcb!;
  const guest = (o: Partial<SnpEvidence> = {}): SnpEvidence => ({ ok: true, tee: 'SNP', measurement: s.measurement[0]!, hostData: '00'.repeat(32),
    idKeyDigest: s.idKeyDigest![0]!, authorKeyDigest: '00'.repeat(48), reportData: Buffer.from(rd).toString('hex'), guestSvn: s.minGuestSvn!,
    vmpl: 0, debug: false, migrateMa: false, reportedTcb: { bootloader: m.bootloader!, tee: m.tee!, snp: m.snp!, microcode: m.microcode! }, ...o });
  const release = (e: SnpEvidence) => evaluatePolicy(e, attestationPolicyFor(policy, name, rd));
  expect(release(guest())).toEqual({ ok: true });
  expect(release(guest({ reportedTcb: { bootloader: m.bootloader!, tee: m.tee!, snp: m.snp! - 1, microcode: m.microcode! } }))).toMatchObject({ ok: false, check: 'snp-tcb' });
  expect(release(guest({ vmpl: 1 }))).toMatchObject({ ok: false, check: 'vmpl' });
  expect(release(guest({ migrateMa: true }))).toMatchObject({ ok: false, check: 'migrate-ma' });
  expect(release(guest({ hostData: 'ff'.repeat(32) }))).toMatchObject({ ok: false, check: 'host-data' });
});
