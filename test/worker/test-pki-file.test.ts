// A saved test PKI makes quotes that the real verifier accepts under that PKI's root, and only there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, bytesToHex } from '@noble/hashes/utils.js';
import { createTestPki, type TestPki } from '../../src/attestation/test-pki/index.js';
import { INTEL_SGX_ROOT_CA_DER, loadCollateral, verifyQuote } from '../../src/attestation/index.js';
import { loadTestPki, saveTestPki, testPkiRootDer, testPkiSnpArkDer, TestPkiFileError } from '../../src/worker/test-pki-file.js';
import { createSnpTestPki } from '../../src/attestation/test-pki/snp.js';
import { verifySnpReport } from '../../src/attestation/snp/verify.js';

let pki: TestPki;
let dir: string;
let file: string;

beforeAll(async () => {
  pki = await createTestPki();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-test-pki-'));
  file = path.join(dir, 'test-pki.json');
  await saveTestPki(pki, file);
});
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

test('the file is written mode 0600 and names itself development-only', () => {
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.readFileSync(file, 'utf8')).toMatch(/DEVELOPMENT ONLY/);
});

test('saving over an existing file keeps mode 0600', async () => {
  const f = path.join(dir, 'again.json');
  fs.writeFileSync(f, 'old', { mode: 0o644 });
  await saveTestPki(pki, f);
  expect(fs.statSync(f).mode & 0o777).toBe(0o600);
  expect(Buffer.from(testPkiRootDer(f))).toEqual(Buffer.from(pki.rootDer));
});

test('testPkiRootDer is the PKI root', () => {
  expect(Buffer.from(testPkiRootDer(file))).toEqual(Buffer.from(pki.rootDer));
});

test('SGX v3 quotes from the loaded PKI verify under its root and carry the report_data', () => {
  const loaded = loadTestPki(file);
  const reportData = randomBytes(64);
  const mrEnclave = randomBytes(32);
  const quote = loaded.buildSgxQuoteV3({ mrEnclave, mrSigner: randomBytes(32), isvProdId: 1, isvSvn: 3, reportData });
  const v = verifyQuote(quote, loadCollateral(loaded.collateralJson('SGX')), { now: new Date(), trustedRoot: testPkiRootDer(file) });
  expect(v.ok).toBe(true);
  if (!v.ok || v.tee !== 'SGX') throw new Error('expected an accepted SGX verdict');
  expect(v.reportData).toBe(bytesToHex(reportData));
  expect(v.mrEnclave).toBe(bytesToHex(mrEnclave));
  expect(v.status).toBe('UpToDate');
});

test('TDX v4 quotes from the loaded PKI verify under its root and carry the report_data', () => {
  const loaded = loadTestPki(file);
  const reportData = randomBytes(64);
  const mrTd = randomBytes(48);
  const quote = loaded.buildTdxQuoteV4({ mrTd, reportData });
  const v = verifyQuote(quote, loadCollateral(loaded.collateralJson('TDX')), { now: new Date(), trustedRoot: loaded.rootDer });
  expect(v.ok).toBe(true);
  if (!v.ok || v.tee !== 'TDX') throw new Error('expected an accepted TDX verdict');
  expect(v.reportData).toBe(bytesToHex(reportData));
  expect(v.mrTd).toBe(bytesToHex(mrTd));
});

test('the quotes do not verify under another root (the pinned Intel root or a look-alike)', async () => {
  const loaded = loadTestPki(file);
  const quote = loaded.buildSgxQuoteV3({ mrEnclave: randomBytes(32), mrSigner: randomBytes(32), isvProdId: 1, isvSvn: 0, reportData: randomBytes(64) });
  const lookAlike = await pki.createLookAlikeRoot();
  const collateral = loadCollateral(loaded.collateralJson('SGX'));
  expect(verifyQuote(quote, collateral, { now: new Date(), trustedRoot: lookAlike.der }).ok).toBe(false);
  expect(verifyQuote(quote, collateral, { now: new Date(), trustedRoot: INTEL_SGX_ROOT_CA_DER }).ok).toBe(false);
  expect(verifyQuote(quote, collateral, { now: new Date(), trustedRoot: loaded.rootDer }).ok).toBe(true);
});

test('refuses a missing, foreign or incomplete file', () => {
  expect(() => loadTestPki(path.join(dir, 'missing.json'))).toThrow(TestPkiFileError);
  const foreign = path.join(dir, 'foreign.json');
  fs.writeFileSync(foreign, JSON.stringify({ hello: 1 }));
  expect(() => loadTestPki(foreign)).toThrow(/not a saved test PKI/);
  const partial = path.join(dir, 'partial.json');
  const body = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete body.collateral;
  fs.writeFileSync(partial, JSON.stringify(body));
  expect(() => loadTestPki(partial)).toThrow(/incomplete/);
});

describe('with the SEV-SNP development PKI', () => {
  test('reports from the loaded file verify under its ARK only, with the saved VCEK, ASK/ARK and CRL', async () => {
    const snp = await createSnpTestPki({ product: 'Turin' });
    const f = path.join(dir, 'with-snp.json');
    await saveTestPki(pki, f, snp);
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(Buffer.from(testPkiSnpArkDer(f))).toEqual(Buffer.from(snp.ark.der));
    const loaded = loadTestPki(f);
    const reportData = randomBytes(64);
    const report = loaded.snp!.buildReport({ reportData, measurement: new Uint8Array(48).fill(7) });
    const input = { vcek: loaded.snp!.vcekDer, askArk: loaded.snp!.askArkPem, crl: loaded.snp!.crlDer, now: new Date() };
    expect(verifySnpReport(report, { ...input, trustedArks: { Turin: loaded.snp!.arkDer } }))
      .toMatchObject({ ok: true, product: 'Turin', reportData: bytesToHex(reportData), measurement: '07'.repeat(48) });
    // AMD's pinned ARKs do not admit it.
    expect(verifySnpReport(report, input)).toMatchObject({ ok: false, step: 'snp-ark' });
    // A file saved without it has no SNP part.
    expect(loadTestPki(file).snp).toBeUndefined();
    expect(() => testPkiSnpArkDer(file)).toThrow(TestPkiFileError);
  });
});
