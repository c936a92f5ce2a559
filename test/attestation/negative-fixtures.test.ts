// Attacks on real Intel quotes and collateral: every mutation of the signed bytes and every
// collateral defect is refused at the right step with a clear reason.
import { loadCollateral, parseQuote, verifyQuote, VerificationCache, type Verdict } from '../../src/attestation/index.js';
import { fixtureCase, intelRoot, readFixture } from './dcap-fixtures.js';

const sgx = fixtureCase('phala-sgx-v3');
const tdx = fixtureCase('phala-tdx-v4');
const tdx5 = fixtureCase('gotdx-tdx-v5');
const cache = new VerificationCache();

function run(quote: Uint8Array, collateral: Record<string, string>, now: number): Verdict {
  return verifyQuote(quote, loadCollateral(collateral), { now, trustedRoot: intelRoot, cache });
}
function expectRefused(v: Verdict, step: string, words: RegExp): void {
  expect(v.ok ? 'accepted' : { step: v.step, error: v.error }).toEqual({ step, error: expect.stringMatching(words) });
}
function mutate(quote: Uint8Array, offset: number, fn: (b: number) => number = (b) => b ^ 0x01): Uint8Array {
  const out = Uint8Array.from(quote);
  out[offset] = fn(out[offset]!);
  return out;
}
/** String replacement that must change something, so a test never passes on an unmodified input. */
function changed(text: string, from: string, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`test setup: '${from}' not found`);
  return out;
}
const u16At = (q: Uint8Array, off: number, v: number) => { const o = Uint8Array.from(q); new DataView(o.buffer).setUint16(off, v, true); return o; };
const u32At = (q: Uint8Array, off: number, v: number) => { const o = Uint8Array.from(q); new DataView(o.buffer).setUint32(off, v, true); return o; };

describe('baseline', () => {
  it('the unmodified SGX and TDX fixtures verify', () => {
    expect(run(sgx.quote, sgx.collateralJson, sgx.c.now).ok).toBe(true);
    expect(run(tdx.quote, tdx.collateralJson, tdx.c.now).ok).toBe(true);
    expect(run(tdx5.quote, tdx5.collateralJson, tdx5.c.now).ok).toBe(true);
  });
});

describe.each([['SGX v3', sgx], ['TDX v4', tdx], ['TDX v5', tdx5]] as const)('mutations of the signed bytes of the %s fixture', (_name, fx) => {
  const q = parseQuote(fx.quote);
  const at = (part: Uint8Array) => part.byteOffset;
  const verify = (bytes: Uint8Array) => run(bytes, fx.collateralJson, fx.c.now);

  it('header: version, key type, TEE type are refused by the parser', () => {
    expectRefused(verify(u16At(fx.quote, 0, 2)), 'parse', /unsupported quote version 2/);
    expectRefused(verify(u16At(fx.quote, 2, 3)), 'parse', /attestation key type 3/);
    expectRefused(verify(u32At(fx.quote, 4, q.tee === 'SGX' ? 0x81 : 0)), 'parse', /tee_type/);
  });
  if (q.version === 5) {
    it('v5 body descriptor: body type and body size are refused by the parser', () => {
      expectRefused(verify(u16At(fx.quote, 48, 1)), 'parse', /unsupported v5 quote body type 1/);
      expectRefused(verify(u16At(fx.quote, 48, 2)), 'parse', /body type 2 must be 584 bytes, body_size says 648/);
      expectRefused(verify(u32At(fx.quote, 50, 647)), 'parse', /body type 3 must be 648 bytes/);
    });
  }
  it('header: QE vendor id is refused', () => {
    expectRefused(verify(mutate(fx.quote, 12)), 'header', /QE vendor ID/);
  });
  it('header: QE SVN, PCE SVN and user data break the quote signature', () => {
    for (const off of [8, 10, 28, 47]) expectRefused(verify(mutate(fx.quote, off)), 'quote-signature', /quote signature does not verify/);
  });
  it('report body and report_data break the quote signature', () => {
    const body = q.tee === 'SGX' ? q.report.mrEnclave : q.report.mrTd;
    expectRefused(verify(mutate(fx.quote, at(body))), 'quote-signature', /quote signature/);
    expectRefused(verify(mutate(fx.quote, at(q.report.reportData) + 63)), 'quote-signature', /quote signature/);
  });
  it('quote signature bytes (r and s) are refused', () => {
    expectRefused(verify(mutate(fx.quote, at(q.signature))), 'quote-signature', /quote signature/);
    expectRefused(verify(mutate(fx.quote, at(q.signature) + 40)), 'quote-signature', /quote signature/);
  });
  it('attestation key and QE auth data break the QE binding', () => {
    expectRefused(verify(mutate(fx.quote, at(q.attestationKey) + 5)), 'qe-report-data', /bind the attestation key/);
    expectRefused(verify(mutate(fx.quote, at(q.qeAuthData))), 'qe-report-data', /bind the attestation key/);
  });
  it('QE report and its signature are refused', () => {
    expectRefused(verify(mutate(fx.quote, at(q.qeReportBytes) + 100)), 'qe-report-signature', /QE report signature/);
    expectRefused(verify(mutate(fx.quote, at(q.qeReportSignature) + 63)), 'qe-report-signature', /QE report signature/);
  });
  it('certification data type and length are refused by the parser', () => {
    const certTypeOff = at(q.certificationData) - 6;
    expectRefused(verify(u16At(fx.quote, certTypeOff, 3)), 'parse', /certification data type 3/);
    expectRefused(verify(u32At(fx.quote, certTypeOff + 2, q.certificationData.length - 1)), 'parse', /sig_data_len|declares/);
    expectRefused(verify(u32At(fx.quote, certTypeOff + 2, q.certificationData.length + 1)), 'parse', /truncated|sig_data_len|declares/);
    if (q.version >= 4) {
      expectRefused(verify(u16At(fx.quote, at(q.attestationKey) + 64, 5)), 'parse', /certification data type 5 on quote v[45] \(expected 6/);
    }
    const sigLenOff = at(q.signature) - 4;
    expectRefused(verify(u32At(fx.quote, sigLenOff, new DataView(fx.quote.buffer, fx.quote.byteOffset).getUint32(sigLenOff, true) - 1)), 'parse', /sig_data_len/);
  });
  it('PCK certificate bytes inside the quote are refused', () => {
    // A byte deep inside the leaf's base64: either the DER breaks or the CA's signature does.
    const v = verify(mutate(fx.quote, at(q.certificationData) + 400, (b) => (b === 0x41 ? 0x42 : 0x41)));
    expectRefused(v, 'pck-chain', /PCK/);
  });
  it('trailing bytes: zeros are padding, anything else is refused', () => {
    const padded = new Uint8Array(fx.quote.length + 16);
    padded.set(fx.quote);
    expect(verify(padded).ok).toBe(true);
    padded[padded.length - 1] = 1;
    expectRefused(verify(padded), 'parse', /non-zero byte at offset/);
  });
});

describe('collateral defects (SGX fixture, unless said)', () => {
  const base = sgx.collateralJson;
  const now = sgx.c.now;
  const refused = (patch: Record<string, string>, step: string, words: RegExp, quote = sgx.quote, at = now) =>
    expectRefused(run(quote, { ...base, ...patch }, at), step, words);

  it('TCB info text or signature changed', () => {
    refused({ tcb_info: changed(base.tcb_info!, '"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18') }, 'tcb-info', /signature does not verify/);
    refused({ tcb_info: changed(base.tcb_info!, '{"id"', '{ "id"') }, 'tcb-info', /signature does not verify/);
    refused({ tcb_info_signature: base.tcb_info_signature!.replace(/^./, (c) => (c === '0' ? '1' : '0')) }, 'tcb-info', /signature does not verify/);
  });
  it('QE identity text or signature changed', () => {
    refused({ qe_identity: changed(base.qe_identity!, '"isvprodid":1', '"isvprodid":2') }, 'qe-identity', /signature does not verify/);
    refused({ qe_identity_signature: base.qe_identity_signature!.slice(0, 127) + (base.qe_identity_signature!.endsWith('0') ? '1' : '0') }, 'qe-identity', /signature does not verify/);
  });
  it('wrong issuer chain for TCB info and QE identity', () => {
    const bad = readFixture('oasis-core/tcb_info_v3_fmspc_00606A000000_certs_bad.pem').toString('utf8');
    refused({ tcb_info_issuer_chain: bad }, 'tcb-info', /signed by 'Intel SGX PCK Platform CA', expected 'Intel SGX TCB Signing'/);
    refused({ qe_identity_issuer_chain: base.pck_crl_issuer_chain! }, 'qe-identity', /expected 'Intel SGX TCB Signing'/);
    // The real 2018 TCB Signing certificate did not sign the 2025 collateral.
    refused({ tcb_info_issuer_chain: readFixture('intel-pki/tcb_signing_chain_2018.pem').toString('utf8') }, 'tcb-info', /signature does not verify|expired/);
  });
  it('empty CRLs', () => {
    refused({ root_ca_crl: '' }, 'root-crl', /root CA CRL is missing/);
    refused({ pck_crl: '' }, 'pck-crl', /PCK CRL is missing/);
  });
  it('forged CRLs (signature or content changed)', () => {
    const flipLast = (h: string) => h.slice(0, -2) + (h.endsWith('00') ? '01' : '00');
    refused({ root_ca_crl: flipLast(base.root_ca_crl!) }, 'root-crl', /signature does not verify|not a valid DER CRL/);
    refused({ pck_crl: flipLast(base.pck_crl!) }, 'pck-crl', /signature does not verify|not a valid DER CRL/);
    // Remove the revoked list's first serial byte by changing content inside the signed TBS.
    const crl = Buffer.from(base.pck_crl!, 'hex');
    crl[crl.length - 120]! ^= 0x01;
    refused({ pck_crl: crl.toString('hex') }, 'pck-crl', /signature does not verify|not a valid DER CRL/);
  });
  it('wrong-issuer CRLs', () => {
    refused({ pck_crl: base.root_ca_crl! }, 'pck-crl', /issued by 'Intel SGX Root CA', expected 'Intel SGX PCK Processor CA'/);
    refused({ root_ca_crl: base.pck_crl! }, 'root-crl', /issued by 'Intel SGX PCK Processor CA', expected 'Intel SGX Root CA'/);
    // A genuine Platform CA CRL for a quote whose PCK leaf is issued by the Processor CA.
    refused({ pck_crl: tdx.collateralJson.pck_crl!, pck_crl_issuer_chain: tdx.collateralJson.pck_crl_issuer_chain! }, 'pck-crl',
      /PCK CRL is issued by 'Intel SGX PCK Platform CA', but the PCK leaf is issued by 'Intel SGX PCK Processor CA'/);
  });
  it('expired CRLs', () => {
    const staleRoot = readFixture('mobilecoin-attestation/root_crl.der').toString('hex');
    refused({ root_ca_crl: staleRoot }, 'root-crl', /root CA CRL has expired/);
    const stalePck = readFixture('mobilecoin-attestation/processor_crl.der').toString('hex');
    refused({ pck_crl: stalePck }, 'pck-crl', /PCK CRL has expired/);
  });
  it('collateral of another FMSPC', () => {
    const near = fixtureCase('phala-near-tdx-v4');
    // phala-tdx-v4's quote (FMSPC B0C06F000000) against the NEAR platform's TDX collateral (20A06F000000).
    expectRefused(run(tdx.quote, near.collateralJson, near.c.now), 'tcb-info-mismatch', /TCB info is for FMSPC 20a06f000000 but the PCK certificate has FMSPC b0c06f000000/);
  });
  it('collateral of another TEE', () => {
    const tdxCol = { ...tdx.collateralJson, pck_crl: base.pck_crl!, pck_crl_issuer_chain: base.pck_crl_issuer_chain! };
    expectRefused(run(sgx.quote, tdxCol, now), 'tcb-info-mismatch', /TCB info is for TDX but the quote is SGX/);
    const sgxQe = { ...tdx.collateralJson, qe_identity: base.qe_identity!, qe_identity_signature: base.qe_identity_signature!,
      qe_identity_issuer_chain: base.qe_identity_issuer_chain! };
    expectRefused(run(tdx.quote, sgxQe, tdx.c.now), 'qe-identity-mismatch', /QE identity is 'QE' but a TDX quote needs 'TD_QE'/);
  });
  it('now outside the validity window', () => {
    refused({}, 'tcb-info', /TCB info has expired/, sgx.quote, Date.parse('2025-07-20T00:00:00Z') / 1000);
    refused({}, 'tcb-info', /TCB info is not yet valid/, sgx.quote, Date.parse('2025-06-19T00:00:00Z') / 1000);
    refused({}, 'root-crl', /root CA CRL (?:has expired|is not yet valid)/, sgx.quote, Date.parse('2020-01-01T00:00:00Z') / 1000);
  });
  it('minimum TCB evaluation data number', () => {
    const v = verifyQuote(sgx.quote, loadCollateral(base), { now, trustedRoot: intelRoot, cache, minTcbEvaluationDataNumber: 18 });
    expectRefused(v, 'tcb-info', /evaluation data number 17, below the required minimum 18/);
  });
  it('a malformed collateral layout is refused before any check', () => {
    expect(() => loadCollateral({ ...base, pck_crl: 'xyz' })).toThrow(/'pck_crl' must be hex/);
    const v = verifyQuote(sgx.quote, { ...base, tcb_info: 5 } as never, { now, trustedRoot: intelRoot });
    expectRefused(v, 'collateral', /'tcb_info' must be a string/);
    // Freezing an object does not make it validated collateral.
    const frozen = verifyQuote(sgx.quote, Object.freeze({ ...base, pck_crl: null }) as never, { now, trustedRoot: intelRoot });
    expectRefused(frozen, 'collateral', /'pck_crl' must be a string/);
  });
});
