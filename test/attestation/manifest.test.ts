// Every case of fixtures/dcap/manifest.json gives the expected verdict, status and advisories at its `now`.
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/shared.js';
import { loadCollateral, verifyQuote, VerificationCache, INTEL_SGX_ROOT_CA_DER } from '../../src/attestation/index.js';

const DCAP = path.join(FIXTURES_DIR, 'dcap');
interface Case {
  id: string; tee: string; quoteVersion: number; quote: string; collateral: string; now: number;
  expected: { verdict: 'accept' | 'reject'; status?: string; advisoryIds?: string[]; error?: string };
  report?: { mrEnclave?: string; mrSigner?: string; mrTd?: string; reportDataPrefixAscii?: string };
}
const manifest = JSON.parse(fs.readFileSync(path.join(DCAP, 'manifest.json'), 'utf8')) as { trustedRoot: string; cases: Case[] };
const root = fs.readFileSync(path.join(DCAP, manifest.trustedRoot));

/** Where a strict verifier must refuse each rejected case, and words the reason must contain. */
const REJECTIONS: Record<string, { step: string; words: RegExp }> = {
  'phala-tdx-v5-tcb-not-supported': { step: 'tcb-level', words: /no matching TCB level/ },
  // The file ends with 39 bytes of ASCII ("extra bytes(only for testing purpose)"), not zero
  // padding as its README says; strict parsing refuses non-zero trailing bytes before any TCB
  // check. The TCB expectation is checked on the same bytes without the tail below.
  'gotdx-tdx-v4-tcb-not-supported': { step: 'parse', words: /non-zero byte at offset 4935 after the end of the signature data/ },
  'mobilecoin-sgx-v3-stale-pck-crl': { step: 'pck-crl', words: /PCK CRL has expired/ },
  'oasis-sgx-v3-no-crl': { step: 'root-crl', words: /CRL is missing/ },
  'oasis-tdx-v4-no-crl': { step: 'root-crl', words: /CRL is missing/ },
  'oasis-tdx-v4-trailing-no-crl': { step: 'root-crl', words: /CRL is missing/ },
  'oasis-sgx-v3-eppid-certtype3': { step: 'parse', words: /certification data type 3/ },
};

describe('fixtures/dcap/manifest.json', () => {
  it('pins the Intel root the manifest names', () => {
    expect(Buffer.from(INTEL_SGX_ROOT_CA_DER).equals(root)).toBe(true);
  });

  for (const c of manifest.cases) {
    it(`${c.id}: ${c.expected.verdict}${c.expected.status ? ' ' + c.expected.status : ''}`, () => {
      const quote = fs.readFileSync(path.join(DCAP, c.quote));
      const collateral = loadCollateral(fs.readFileSync(path.join(DCAP, c.collateral), 'utf8'));
      const v = verifyQuote(quote, collateral, { now: c.now, trustedRoot: root, cache: new VerificationCache() });
      if (c.expected.verdict === 'accept') {
        if (!v.ok) throw new Error(`${c.id} rejected at ${v.step}: ${v.error}`);
        expect(v.tee).toBe(c.tee);
        expect(v.quoteVersion).toBe(c.quoteVersion);
        expect(v.status).toBe(c.expected.status);
        expect(v.advisoryIds).toEqual(c.expected.advisoryIds);
        if (c.report?.mrEnclave && v.tee === 'SGX') expect(v.mrEnclave).toBe(c.report.mrEnclave);
        if (c.report?.mrSigner && v.tee === 'SGX') expect(v.mrSigner).toBe(c.report.mrSigner);
        if (c.report?.mrTd && v.tee === 'TDX') expect(v.mrTd).toBe(c.report.mrTd);
        if (c.report?.reportDataPrefixAscii) {
          expect(Buffer.from(v.reportData, 'hex').toString('latin1').startsWith(c.report.reportDataPrefixAscii)).toBe(true);
        }
      } else {
        const want = REJECTIONS[c.id];
        if (want === undefined) throw new Error(`no expectation recorded for rejected case ${c.id}`);
        expect(v.ok).toBe(false);
        if (v.ok) return;
        expect({ step: v.step, error: v.error }).toEqual({ step: want.step, error: expect.stringMatching(want.words) });
      }
    });
  }

  it('gotdx-tdx-v4-tcb-not-supported without its ASCII tail: no matching TCB level', () => {
    const c = manifest.cases.find((x) => x.id === 'gotdx-tdx-v4-tcb-not-supported')!;
    const quote = fs.readFileSync(path.join(DCAP, c.quote)).subarray(0, 4935);
    const collateral = loadCollateral(fs.readFileSync(path.join(DCAP, c.collateral), 'utf8'));
    const v = verifyQuote(quote, collateral, { now: c.now, trustedRoot: root });
    expect(v.ok ? 'accepted' : [v.step, v.error]).toEqual(['tcb-level', expect.stringMatching(/no matching TCB level/)]);
  });
});
