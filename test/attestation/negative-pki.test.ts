// Attacks that need a signer: with the development PKI every other check passes, so each case
// isolates one rule (revocation, FMSPC/PCE-ID binding, TCB status, QE identity, TDX module,
// signature range, look-alike roots) and the policy checks (debug, SEPT_VE_DISABLE, measurements).
import { createTestPki, type TestPki } from '../../src/attestation/test-pki/index.js';
import { evaluatePolicy, parsePolicy, verifyQuote, VerificationCache, type Collateral, type Verdict } from '../../src/attestation/index.js';

const NOW = new Date('2026-01-15T00:00:00Z');
const now = NOW.getTime() / 1000;
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const SGX = { mrEnclave: fill(32, 0xaa), mrSigner: fill(32, 0xbb), isvProdId: 3, isvSvn: 2, reportData: fill(64, 0x11) };
const TDX = { mrTd: fill(48, 0xcc), reportData: fill(64, 0x22) };
/** P-256 group order n. */
const N = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');

let pki: TestPki;
let sgxCol: Collateral;
let tdxCol: Collateral;
const cache = new VerificationCache();
const verify = (quote: Uint8Array, collateral: Collateral, opts: { minTcbEvaluationDataNumber?: number } = {}) =>
  verifyQuote(quote, collateral, { now, trustedRoot: pki.rootDer, cache, ...opts });

function expectRefused(v: Verdict, step: string, words: RegExp): void {
  expect(v.ok ? 'accepted' : { step: v.step, error: v.error }).toEqual({ step, error: expect.stringMatching(words) });
}
function accepted(v: Verdict) {
  if (!v.ok) throw new Error(`refused at ${v.step}: ${v.error}`);
  return v;
}

beforeAll(async () => {
  pki = await createTestPki({ now: NOW });
  sgxCol = await pki.collateral({ tee: 'SGX' });
  tdxCol = await pki.collateral({ tee: 'TDX' });
});

describe('revocation', () => {
  it('a revoked PCK leaf is refused', async () => {
    const col = await pki.collateral({ tee: 'SGX', revokedPckSerials: [pki.defaultLeaf.serial] });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX), col), 'pck-crl', /PCK leaf certificate \(serial [0-9a-f]+\) is revoked/);
  });
  it('a revoked PCK CA is refused', async () => {
    const col = await pki.collateral({ tee: 'SGX', revokePckCa: true });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX), col), 'pck-crl', /is revoked by the CRL of 'Intel SGX Root CA'/);
  });
  it('another leaf of the same CA still passes (the CRL lists serials, not the CA)', async () => {
    const col = await pki.collateral({ tee: 'SGX', revokedPckSerials: ['7777'] });
    expect(verify(pki.buildSgxQuoteV3(SGX), col).ok).toBe(true);
  });
});

describe('PCK certificate binding to the TCB info (valid signatures everywhere)', () => {
  it('FMSPC mismatch', async () => {
    const leaf = await pki.issuePckLeaf({ fmspc: '112233445566' });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { leaf }), sgxCol), 'tcb-info-mismatch', /FMSPC 00906ed50000 but the PCK certificate has FMSPC 112233445566/);
  });
  it('PCE-ID mismatch', async () => {
    const leaf = await pki.issuePckLeaf({ pceId: '0100' });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { leaf }), sgxCol), 'tcb-info-mismatch', /PCE-ID 0000 but the PCK certificate has PCE-ID 0100/);
  });
});

describe('TCB levels and status convergence (Intel TcbLevelCheck)', () => {
  it('a Revoked TCB level is refused', async () => {
    const col = await pki.collateral({ tee: 'SGX', tcbLevels: [{ status: 'Revoked' }] });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX), col), 'tcb-status', /Revoked/);
  });
  it('a platform below every level is TCB_NOT_SUPPORTED', async () => {
    const col = await pki.collateral({ tee: 'SGX', tcbLevels: [{ status: 'UpToDate', sgxComponents: new Array<number>(16).fill(3) }] });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX), col), 'tcb-level', /no matching TCB level/);
  });
  it('the first level the platform reaches decides the status and advisories', async () => {
    const col = await pki.collateral({ tee: 'SGX', tcbLevels: [
      { status: 'UpToDate', sgxComponents: new Array<number>(16).fill(3) },
      { status: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'] },
      { status: 'OutOfDate', sgxComponents: new Array<number>(16).fill(1), advisoryIds: ['INTEL-SA-00001'] },
    ] });
    const v = accepted(verify(pki.buildSgxQuoteV3(SGX), col));
    expect([v.status, v.advisoryIds]).toEqual(['SWHardeningNeeded', ['INTEL-SA-00615']]);
  });
  it('QE OutOfDate turns ConfigurationAndSWHardeningNeeded into OutOfDateConfigurationNeeded', async () => {
    const col = await pki.collateral({ tee: 'SGX', tcbLevels: [{ status: 'ConfigurationAndSWHardeningNeeded', advisoryIds: ['INTEL-SA-00289'] }],
      qeTcbLevels: [{ isvSvn: 9, status: 'UpToDate' }, { isvSvn: 6, status: 'OutOfDate', advisoryIds: ['INTEL-SA-00999'] }] });
    const v = accepted(verify(pki.buildSgxQuoteV3(SGX), col));
    expect([v.status, v.advisoryIds]).toEqual(['OutOfDateConfigurationNeeded', ['INTEL-SA-00289', 'INTEL-SA-00999']]);
  });
  it('a Revoked QE TCB level is refused', async () => {
    const col = await pki.collateral({ tee: 'SGX', qeTcbLevels: [{ isvSvn: 9, status: 'UpToDate' }, { isvSvn: 0, status: 'Revoked' }] });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX), col), 'tcb-status', /Revoked/);
  });
  it('a TCB evaluation data number below the minimum is refused', () => {
    expectRefused(verify(pki.buildSgxQuoteV3(SGX), sgxCol, { minTcbEvaluationDataNumber: 18 }), 'tcb-info', /below the required minimum 18/);
  });
});

describe('QE identity match', () => {
  it('a QE with another MRSIGNER is refused', () => {
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { qe: { mrSigner: fill(32, 0x66) } }), sgxCol), 'qe-identity-mismatch', /QE MRSIGNER/);
  });
  it('a QE with another ISVPRODID is refused', () => {
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { qe: { isvProdId: 9 } }), sgxCol), 'qe-identity-mismatch', /QE ISVPRODID 9/);
  });
  it('a debug QE (masked ATTRIBUTES differ) is refused', () => {
    const attrs = Uint8Array.from(Buffer.from('13000000000000000000000000000000', 'hex'));
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { qe: { attributes: attrs } }), sgxCol), 'qe-identity-mismatch', /QE ATTRIBUTES/);
  });
  it('a QE with MISCSELECT bits set is refused', () => {
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { qe: { miscSelect: 1 } }), sgxCol), 'qe-identity-mismatch', /QE MISCSELECT/);
  });
  it('a QE below every QE TCB level is refused', () => {
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { qe: { isvSvn: 7 } }), sgxCol), 'tcb-level', /QE ISVSVN 7 is below every TCB level/);
  });
});

describe('TDX module identity', () => {
  const svn = (minor: number, major: number) => Uint8Array.from([minor, major, ...new Array<number>(14).fill(0)]);
  it('module major version > 0 without tdxModuleIdentities is refused', () => {
    expectRefused(verify(pki.buildTdxQuoteV4({ ...TDX, teeTcbSvn: svn(3, 1) }), tdxCol), 'tdx-module', /no TDX module identity TDX_01/);
  });
  it('the module identity level decides the module status and converges', async () => {
    const col = await pki.collateral({ tee: 'TDX', tdxModuleIdentities: [{ version: 1, levels: [
      { isvSvn: 5, status: 'UpToDate' }, { isvSvn: 2, status: 'OutOfDate', advisoryIds: ['INTEL-SA-01036'] }] }] });
    expect(accepted(verify(pki.buildTdxQuoteV4({ ...TDX, teeTcbSvn: svn(5, 1) }), col)).status).toBe('UpToDate');
    const v = accepted(verify(pki.buildTdxQuoteV4({ ...TDX, teeTcbSvn: svn(3, 1) }), col));
    expect([v.status, v.advisoryIds]).toEqual(['OutOfDate', ['INTEL-SA-01036']]);
    expectRefused(verify(pki.buildTdxQuoteV4({ ...TDX, teeTcbSvn: svn(1, 1) }), col), 'tcb-level', /TDX module TDX_01 SVN 1 is below every TCB level/);
  });
  it('a module identity with another MRSIGNER is refused', async () => {
    const col = await pki.collateral({ tee: 'TDX', tdxModuleIdentities: [{ version: 1, mrSigner: '01'.repeat(48), levels: [{ isvSvn: 0, status: 'UpToDate' }] }] });
    expectRefused(verify(pki.buildTdxQuoteV4({ ...TDX, teeTcbSvn: svn(3, 1) }), col), 'tdx-module', /MRSIGNERSEAM .* is not the MRSIGNER of TDX module identity TDX_01/);
  });
  it('MRSIGNERSEAM and SEAM attributes must match the legacy tdxModule', () => {
    expectRefused(verify(pki.buildTdxQuoteV4({ ...TDX, mrSignerSeam: fill(48, 1) }), tdxCol), 'tdx-module', /MRSIGNERSEAM/);
    expectRefused(verify(pki.buildTdxQuoteV4({ ...TDX, seamAttributes: fill(8, 1) }), tdxCol), 'tdx-module', /SEAM attributes/);
  });
  it('TD 1.5 (quote v5): an OutOfDate module with an updated TEE_TCB_SVN_2 is TDRelaunchAdvised (Intel TDRelaunchCheck)', async () => {
    const col = await pki.collateral({ tee: 'TDX', tdxModuleIdentities: [{ version: 1, levels: [
      { isvSvn: 5, status: 'UpToDate' }, { isvSvn: 2, status: 'OutOfDate', advisoryIds: ['INTEL-SA-01036'] }] }] });
    const v5 = (svn1: Uint8Array, svn2: Uint8Array) => accepted(verify(pki.buildTdxQuoteV5({ ...TDX, teeTcbSvn: svn1, teeTcbSvn2: svn2 }), col));
    expect(v5(svn(3, 1), svn(5, 1))).toMatchObject({ quoteVersion: 5, status: 'TDRelaunchAdvised', advisoryIds: ['INTEL-SA-01036'] });
    expect(v5(svn(3, 1), svn(4, 1)).status).toBe('OutOfDate');
    expect(v5(svn(5, 1), svn(5, 1)).status).toBe('UpToDate');
    expectRefused(verify(pki.buildTdxQuoteV5({ ...TDX, teeTcbSvn: svn(3, 1), teeTcbSvn2: svn(5, 2) }), col), 'tdx-module', /TEE_TCB_SVN_2 names TDX module TDX_02/);
    const cfg = await pki.collateral({ tee: 'TDX', tcbLevels: [{ status: 'ConfigurationNeeded' }],
      tdxModuleIdentities: [{ version: 1, levels: [{ isvSvn: 5, status: 'UpToDate' }, { isvSvn: 2, status: 'OutOfDate' }] }] });
    const c = accepted(verify(pki.buildTdxQuoteV5({ ...TDX, teeTcbSvn: svn(3, 1), teeTcbSvn2: svn(5, 1) }), cfg));
    expect(c.status).toBe('TDRelaunchAdvisedConfigurationNeeded');
  });
  it('TEE_TCB_SVN below the TDX components of every level is TCB_NOT_SUPPORTED', async () => {
    const col = await pki.collateral({ tee: 'TDX', tcbLevels: [{ status: 'UpToDate', tdxComponents: [4, ...new Array<number>(15).fill(0)] }] });
    expectRefused(verify(pki.buildTdxQuoteV4(TDX), col), 'tcb-level', /no matching TCB level: TEE_TCB_SVN/);
  });
});

describe('signatures out of range and look-alike roots', () => {
  const setSig = (quote: Uint8Array, r: Uint8Array | null, s: Uint8Array | null) => {
    const out = Uint8Array.from(quote);
    const off = 48 + 384 + 4; // SGX v3: header, report body, sig_data_len
    if (r) out.set(r, off);
    if (s) out.set(s, off + 32);
    return out;
  };
  it('r = n, r = 0, s = n and s = 0 are refused', () => {
    const quote = pki.buildSgxQuoteV3(SGX);
    expect(verify(quote, sgxCol).ok).toBe(true);
    for (const [r, s] of [[N, null], [fill(32, 0), null], [null, N], [null, fill(32, 0)], [fill(32, 0xff), null]] as const) {
      expectRefused(verify(setSig(quote, r, s), sgxCol), 'quote-signature', /quote signature does not verify/);
    }
  });
  it('r or s of the QE report signature out of range is refused', () => {
    const quote = pki.buildSgxQuoteV3(SGX);
    const out = Uint8Array.from(quote);
    out.set(N, 48 + 384 + 4 + 64 + 64 + 384);
    expectRefused(verify(out, sgxCol), 'qe-report-signature', /QE report signature/);
  });
  it('a look-alike root inside the quote is refused', async () => {
    const fakeRoot = await pki.createLookAlikeRoot();
    expect(fakeRoot.asn.subject.isEqual(pki.root.asn.subject)).toBe(true);
    const fakeCa = await pki.createPckCa(fakeRoot);
    const leaf = await pki.issuePckLeaf({ issuer: fakeCa });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { leaf, chainTail: [fakeRoot] }), sgxCol), 'trusted-root', /root certificate inside the quote .* is not the pinned trusted root/);
    // Without the root in the quote, the look-alike CA fails against the pinned root's key.
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { leaf, chainTail: [] }), sgxCol), 'pck-chain', /signature does not verify with the key of 'Intel SGX Root CA'/);
  });
  it('a leaf signed by the TCB signing key, or a chain with extra certificates, is refused', async () => {
    const leaf = await pki.issuePckLeaf({ issuer: pki.tcbSigner });
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { leaf }), sgxCol), 'pck-chain', /PCK CA CN 'Intel SGX TCB Signing'/);
    expectRefused(verify(pki.buildSgxQuoteV3(SGX, { chainTail: [pki.root, pki.root] }), sgxCol), 'pck-chain', /4 certificates/);
  });
});

describe('policy (separate from verification)', () => {
  const policy = parsePolicy({ allowedStatuses: ['UpToDate'], sgx: { mrEnclave: ['aa'.repeat(32)], mrSigner: ['bb'.repeat(32)], isvProdId: 3, minIsvSvn: 2 },
    tdx: { mrTd: ['cc'.repeat(48)], rtmrs: [['00'.repeat(48)], ['00'.repeat(48)], ['00'.repeat(48)], ['00'.repeat(48)]] }, reportData: '11'.repeat(64) });

  it('accepts the expected enclave', () => {
    expect(evaluatePolicy(verify(pki.buildSgxQuoteV3(SGX), sgxCol), policy)).toEqual({ ok: true });
  });
  it('refuses a debug enclave', () => {
    const attributes = Uint8Array.from([0x07, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0]);
    const v = accepted(verify(pki.buildSgxQuoteV3({ ...SGX, attributes }), sgxCol));
    expect(v.tee === 'SGX' && v.debug).toBe(true);
    expect(evaluatePolicy(v, policy)).toEqual({ ok: false, check: 'debug', error: expect.stringMatching(/debug mode/) });
  });
  it('refuses a debug TD and a TD without SEPT_VE_DISABLE', () => {
    const debugTd = accepted(verify(pki.buildTdxQuoteV4({ ...TDX, reportData: SGX.reportData, tdAttributes: Uint8Array.from([1, 0, 0, 0x10, 0, 0, 0, 0]) }), tdxCol));
    expect(evaluatePolicy(debugTd, policy)).toMatchObject({ ok: false, check: 'debug' });
    const noSept = accepted(verify(pki.buildTdxQuoteV4({ ...TDX, reportData: SGX.reportData, tdAttributes: fill(8, 0) }), tdxCol));
    expect(noSept.tee === 'TDX' && noSept.septVeDisable).toBe(false);
    expect(evaluatePolicy(noSept, policy)).toEqual({ ok: false, check: 'sept-ve-disable', error: expect.stringMatching(/SEPT_VE_DISABLE/) });
    expect(evaluatePolicy(accepted(verify(pki.buildTdxQuoteV4({ ...TDX, reportData: SGX.reportData }), tdxCol)), policy)).toEqual({ ok: true });
  });
  it('refuses measurements outside the allow-lists and a wrong report_data', () => {
    const check = (p: Partial<typeof SGX>) => evaluatePolicy(verify(pki.buildSgxQuoteV3({ ...SGX, ...p }), sgxCol), policy);
    expect(check({ mrEnclave: fill(32, 1) })).toMatchObject({ ok: false, check: 'mr-enclave' });
    expect(check({ mrSigner: fill(32, 1) })).toMatchObject({ ok: false, check: 'mr-signer' });
    expect(check({ isvProdId: 4 })).toMatchObject({ ok: false, check: 'isv-prod-id' });
    expect(check({ isvSvn: 1 })).toMatchObject({ ok: false, check: 'isv-svn' });
    expect(check({ reportData: fill(64, 0x12) })).toMatchObject({ ok: false, check: 'report-data' });
    const td = (p: object) => evaluatePolicy(verify(pki.buildTdxQuoteV4({ ...TDX, reportData: SGX.reportData, ...p }), tdxCol), policy);
    expect(td({ mrTd: fill(48, 1) })).toMatchObject({ ok: false, check: 'mr-td' });
    expect(td({ rtmrs: [fill(48, 0), fill(48, 5)] })).toMatchObject({ ok: false, check: 'rtmr' });
  });
  it('refuses statuses, advisories and evaluation numbers the policy does not allow', async () => {
    const col = await pki.collateral({ tee: 'SGX', tcbLevels: [{ status: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'] }] });
    const v = verify(pki.buildSgxQuoteV3(SGX), col);
    expect(evaluatePolicy(v, policy)).toMatchObject({ ok: false, check: 'tcb-status' });
    expect(evaluatePolicy(v, { allowedStatuses: ['SWHardeningNeeded'], allowedAdvisoryIds: [] })).toMatchObject({ ok: false, check: 'advisory', error: expect.stringMatching(/INTEL-SA-00615/) });
    expect(evaluatePolicy(v, { allowedAdvisoryIds: ['INTEL-SA-00615'], sgx: policy.sgx })).toEqual({ ok: true });
    expect(evaluatePolicy(v, { minTcbEvaluationDataNumber: 18 })).toMatchObject({ ok: false, check: 'tcb-evaluation' });
    expect(evaluatePolicy(v, { tees: ['TDX'] })).toMatchObject({ ok: false, check: 'tee' });
  });
  it('a refused verification is refused by every policy', () => {
    const bad = Uint8Array.from(pki.buildSgxQuoteV3(SGX));
    bad[100]! ^= 1;
    expect(evaluatePolicy(verify(bad, sgxCol), { allowDebug: true })).toMatchObject({ ok: false, check: 'verification' });
  });
  it('malformed policies are refused with the field named', () => {
    expect(() => parsePolicy({ allowedStatuses: ['Fine'] })).toThrow(/allowedStatuses/);
    expect(() => parsePolicy({ sgx: { mrEnclave: ['abcd'] } })).toThrow(/sgx.mrEnclave\[0\] must be 32 bytes/);
    expect(() => parsePolicy({ allowDebugg: true })).toThrow(/unknown policy field 'allowDebugg'/);
  });
});
