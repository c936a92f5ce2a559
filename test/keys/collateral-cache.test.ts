// The verification cache is keyed by canonical collateral (issue 10, item 5): two collateral JSONs that
// differ only in PEM whitespace (line length, CRLF, blank lines, a trailing NUL) or hex case are one
// cache entry, so whitespace cannot force a fresh collateral verification; text the strict parser
// refuses stays refused.
import { loadCollateral, verifyQuote, VerificationCache, type Collateral } from '../../src/attestation/index.js';
import { canonicalPemChain } from '../../src/attestation/collateral.js';
import { createTestPki, type TestPki } from '../../src/attestation/test-pki/index.js';

/** The same certificates laid out differently: 76-character lines, CRLF, blank lines between blocks, a NUL. */
function reflow(pem: string): string {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g)].map((m) => m[1]!.replace(/\s+/g, ''));
  return '\r\n' + blocks.map((b) => `-----BEGIN CERTIFICATE-----\r\n${b.match(/.{1,76}/g)!.join('\r\n')}\r\n-----END CERTIFICATE-----\r\n\r\n`).join('') + '\0';
}

describe('collateral cache keys', () => {
  let pki: TestPki;
  let quote: Uint8Array;
  let raw: Collateral;

  beforeAll(async () => {
    pki = await createTestPki();
    quote = pki.buildSgxQuoteV3({ mrEnclave: new Uint8Array(32).fill(1), mrSigner: new Uint8Array(32).fill(2), isvProdId: 1, isvSvn: 1, reportData: new Uint8Array(64) });
    raw = await pki.collateral({ tee: 'SGX' });
  });

  test('collateral differing only in PEM whitespace and hex case hits the same cache entry', () => {
    const cache = new VerificationCache();
    const a = loadCollateral(JSON.stringify(raw));
    const reflowed = {
      ...raw, pck_crl_issuer_chain: reflow(raw.pck_crl_issuer_chain), tcb_info_issuer_chain: reflow(raw.tcb_info_issuer_chain),
      qe_identity_issuer_chain: reflow(raw.qe_identity_issuer_chain), pck_crl: raw.pck_crl.toUpperCase(), tcb_info_signature: raw.tcb_info_signature.toUpperCase(),
    };
    expect(reflowed.tcb_info_issuer_chain).not.toBe(raw.tcb_info_issuer_chain);
    const b = loadCollateral(JSON.stringify(reflowed));
    const opts = { now: new Date(), trustedRoot: pki.rootDer, cache };
    expect(verifyQuote(quote, a, opts).ok).toBe(true);
    expect(cache.collateral.size).toBe(1);
    expect(verifyQuote(quote, b, opts).ok).toBe(true);
    expect(cache.collateral.size).toBe(1);
    expect(b.tcb_info_issuer_chain).toBe(a.tcb_info_issuer_chain);
  });

  test('text the strict PEM parser refuses is left as it is, and still refused', () => {
    const chain = raw.tcb_info_issuer_chain;
    const junk = chain + 'junk after the last block';
    expect(canonicalPemChain(junk)).toBe(junk);
    const noNewline = chain.replace('-----BEGIN CERTIFICATE-----\n', '-----BEGIN CERTIFICATE-----');
    expect(noNewline).not.toBe(chain);
    expect(canonicalPemChain(noNewline)).toBe(noNewline);
    const v = verifyQuote(quote, loadCollateral(JSON.stringify({ ...raw, tcb_info_issuer_chain: junk })), { now: new Date(), trustedRoot: pki.rootDer });
    expect(v.ok ? 'accepted' : v.step).toBe('tcb-info');
  });
});
