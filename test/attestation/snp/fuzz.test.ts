// parseSnpReport is total: on random bytes and on mutated real reports it returns a report or throws
// SnpReportParseError, never anything else. verifySnpReport never throws on mutated reports,
// certificates, chains or CRLs, and accepts no report whose signed bytes changed.
import fc from 'fast-check';
import { parseSnpReport, SnpReportParseError, SnpVerificationCache, verifySnpReport } from '../../../src/attestation/index.js';
import { UNEXPECTED } from '../../../src/attestation/snp/verify.js';
import { snpCase } from './snp-fixtures.js';

const cases = [snpCase('virtee-milan-v2-ok'), snpCase('azure-genoa-v3-ok'), snpCase('gosev-milan-v2-debug')];
const seeds = [...cases.map((c) => c.report), snpCase('gce-v4-wrong-vcek').report];

function parseOutcome(bytes: Uint8Array): 'ok' | 'refused' {
  try {
    parseSnpReport(bytes);
    return 'ok';
  } catch (err) {
    if (err instanceof SnpReportParseError) return 'refused';
    throw err;
  }
}

/** Random byte edits, 32-bit rewrites, truncation and extension of a seed. */
const mutate = (pool: Uint8Array[]) => fc.record({
  seed: fc.integer({ min: 0, max: pool.length - 1 }),
  edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
  u32: fc.option(fc.record({ at: fc.nat(), value: fc.nat({ max: 0xffffffff }) })),
  // Length changes in one case of five each, so most mutants keep the layout and reach later checks.
  cut: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
  extra: fc.oneof({ weight: 4, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
}).map(({ seed, edits, u32, cut, extra }) => {
  const base = pool[seed]!;
  const out = new Uint8Array(base.length + extra.length);
  out.set(base);
  out.set(extra, base.length);
  for (const e of edits) out[e.at % out.length] = e.value;
  if (u32 && out.length >= 4) new DataView(out.buffer).setUint32(u32.at % (out.length - 3), u32.value, true);
  return cut === null ? out : out.subarray(0, cut % (out.length + 1));
});

describe('SNP report parser fuzzing', () => {
  it('random bytes (1184 bytes with plausible version and algorithm, or any length) only parse or throw SnpReportParseError', () => {
    const plausible = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 2 }), fc.uint8Array({ minLength: 1184, maxLength: 1184 }))
      .map(([v, alg, b]) => { const dv = new DataView(b.buffer); dv.setUint32(0, v, true); dv.setUint32(0x34, alg, true); return b; });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 2400 }), plausible), (bytes) => {
      // Random reserved bytes are almost never all zero, so random input is refused.
      expect(parseOutcome(bytes)).toBe('refused');
    }), { seed: 42, numRuns: 3000 });
  });

  it('mutated real reports only parse or throw SnpReportParseError, and do reach the success path', () => {
    let parsed = 0;
    fc.assert(fc.property(mutate(seeds), (bytes) => { if (parseOutcome(bytes) === 'ok') parsed++; }), { seed: 42, numRuns: 3000 });
    expect(parsed).toBeGreaterThan(100);
  });
});

describe('verifySnpReport fuzzing', () => {
  const cache = new SnpVerificationCache();
  it('never throws on mutated reports and accepts none whose signed bytes changed', () => {
    let accepted = 0;
    fc.assert(fc.property(fc.integer({ min: 0, max: cases.length - 1 }), mutate(seeds), (i, bytes) => {
      const c = cases[i]!;
      const v = verifySnpReport(bytes, { vcek: c.vcek, askArk: c.askArk, crl: c.crl, now: c.now, cache, options: { allowDebug: true } });
      if (!v.ok) expect(v.error).not.toBe(UNEXPECTED);
      if (v.ok) {
        accepted++;
        expect(Buffer.from(bytes).equals(Buffer.from(c.report))).toBe(true);
      }
    }), { seed: 7, numRuns: 800 });
    expect(accepted).toBeGreaterThan(0);
  });

  it('never throws on mutated VCEK, ASK/ARK and CRL bytes, and accepts only the untouched ones', () => {
    const c = cases[0]!;
    const which = fc.constantFrom('vcek', 'askArk', 'crl');
    fc.assert(fc.property(which, fc.nat(), (k, n) => {
      const pool = [c[k]!];
      const m = fc.sample(mutate(pool), { seed: n, numRuns: 1 })[0]!;
      const v = verifySnpReport(c.report, { vcek: c.vcek, askArk: c.askArk, crl: c.crl, now: c.now, cache, [k]: m });
      if (!v.ok) expect(v.error).not.toBe(UNEXPECTED);
      if (v.ok) expect(Buffer.from(m).equals(Buffer.from(c[k]!))).toBe(true);
    }), { seed: 11, numRuns: 300 });
  });
});
