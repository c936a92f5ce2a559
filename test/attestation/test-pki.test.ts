// The development PKI produces quotes and collateral that the strict verifier accepts only under
// the test root, with the measurements and report_data that were asked for.
import { createTestPki } from '../../src/attestation/test-pki/index.js';
import { verifyQuote, parseQuote, INTEL_SGX_ROOT_CA_DER } from '../../src/attestation/index.js';

const NOW = new Date('2026-01-15T00:00:00Z');
const now = NOW.getTime() / 1000;
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('test PKI', () => {
  let pki: Awaited<ReturnType<typeof createTestPki>>;
  beforeAll(async () => { pki = await createTestPki({ now: NOW }); });

  it('builds an SGX v3 quote that verifies UpToDate with the requested measurements', async () => {
    const collateral = await pki.collateral({ tee: 'SGX' });
    const quote = pki.buildSgxQuoteV3({ mrEnclave: bytes(32, 1), mrSigner: bytes(32, 2), isvProdId: 7, isvSvn: 3, reportData: bytes(64, 9) });
    expect(parseQuote(quote).version).toBe(3);
    const v = verifyQuote(quote, collateral, { now, trustedRoot: pki.rootDer });
    if (!v.ok) throw new Error(`${v.step}: ${v.error}`);
    expect(v).toMatchObject({ tee: 'SGX', status: 'UpToDate', advisoryIds: [], mrEnclave: '01'.repeat(32),
      mrSigner: '02'.repeat(32), isvProdId: 7, isvSvn: 3, reportData: '09'.repeat(64), debug: false });
  });

  it('builds a TDX v4 quote that verifies UpToDate with the requested measurements', async () => {
    const collateral = await pki.collateral({ tee: 'TDX' });
    const quote = pki.buildTdxQuoteV4({ mrTd: bytes(48, 3), rtmrs: [bytes(48, 4)], reportData: bytes(64, 5) });
    const v = verifyQuote(quote, collateral, { now, trustedRoot: pki.rootDer });
    if (!v.ok) throw new Error(`${v.step}: ${v.error}`);
    expect(v).toMatchObject({ tee: 'TDX', quoteVersion: 4, status: 'UpToDate', mrTd: '03'.repeat(48),
      reportData: '05'.repeat(64), septVeDisable: true, debug: false });
    expect(v.ok && v.tee === 'TDX' && v.rtmrs[0]).toBe('04'.repeat(48));
  });

  it('is never trusted under the Intel root', async () => {
    const collateral = await pki.collateral({ tee: 'SGX' });
    const quote = pki.buildSgxQuoteV3({ mrEnclave: bytes(32, 1), mrSigner: bytes(32, 2), isvProdId: 1, isvSvn: 1, reportData: bytes(64, 0) });
    const v = verifyQuote(quote, collateral, { now, trustedRoot: INTEL_SGX_ROOT_CA_DER });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.step).toBe('root-crl');
  });
});
