// Caches hold only what does not depend on time or on the quote: a warm cache must still check
// every date at the new `now`, never reuse results across trusted roots, and never turn a
// refusal into an acceptance.
import { loadCollateral, verifyQuote, VerificationCache } from '../../src/attestation/index.js';
import { createTestPki } from '../../src/attestation/test-pki/index.js';
import { fixtureCase, intelRoot } from './dcap-fixtures.js';

describe('verification cache', () => {
  const { c, quote, collateralJson } = fixtureCase('phala-sgx-v3');
  const collateral = loadCollateral(collateralJson);

  it('re-checks dates at every call', () => {
    const cache = new VerificationCache();
    expect(verifyQuote(quote, collateral, { now: c.now, trustedRoot: intelRoot, cache }).ok).toBe(true);
    const later = verifyQuote(quote, collateral, { now: Date.parse('2025-08-01T00:00:00Z') / 1000, trustedRoot: intelRoot, cache });
    expect(later.ok ? 'accepted' : later.error).toMatch(/expired/);
    expect(verifyQuote(quote, collateral, { now: new Date(c.now * 1000), trustedRoot: intelRoot, cache }).ok).toBe(true);
  });

  it('does not reuse collateral or chains verified under another root', async () => {
    const cache = new VerificationCache();
    expect(verifyQuote(quote, collateral, { now: c.now, trustedRoot: intelRoot, cache }).ok).toBe(true);
    const pki = await createTestPki({ now: new Date(c.now * 1000) });
    const v = verifyQuote(quote, collateral, { now: c.now, trustedRoot: pki.rootDer, cache });
    expect(v.ok).toBe(false);
  });

  it('a refused quote stays refused after the same platform passed (QE report and key caches)', () => {
    const cache = new VerificationCache();
    expect(verifyQuote(quote, collateral, { now: c.now, trustedRoot: intelRoot, cache }).ok).toBe(true);
    const forged = Uint8Array.from(quote);
    forged[48 + 64]! ^= 1; // MRENCLAVE, same QE report and attestation key
    const v = verifyQuote(forged, collateral, { now: c.now, trustedRoot: intelRoot, cache });
    expect(v.ok ? 'accepted' : v.step).toBe('quote-signature');
    const badQe = Uint8Array.from(quote);
    badQe[436 + 128 + 10]! ^= 1; // inside the QE report
    const w = verifyQuote(badQe, collateral, { now: c.now, trustedRoot: intelRoot, cache });
    expect(w.ok ? 'accepted' : w.step).toBe('qe-report-signature');
  });

  it('refuses bad arguments as input errors', () => {
    expect(verifyQuote(quote, collateral, { now: Number.NaN, trustedRoot: intelRoot })).toMatchObject({ ok: false, step: 'input' });
    expect(verifyQuote(quote, collateral, { now: c.now, trustedRoot: new Uint8Array(0) })).toMatchObject({ ok: false, step: 'input' });
    expect(verifyQuote(quote, collateral, { now: c.now, trustedRoot: new Uint8Array(10) })).toMatchObject({ ok: false, step: 'trusted-root' });
  });
});
