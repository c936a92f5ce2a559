// parseQuote is total: on random bytes and on mutated real quotes it returns a Quote or throws
// QuoteParseError, never anything else; verifyQuote never throws on them either. The TCB info and
// QE identity parsers are total in the same way.
import fc from 'fast-check';
import { loadCollateral, parseQuote, QuoteParseError, verifyQuote, VerificationCache } from '../../src/attestation/index.js';
import { CollateralFormatError, parseQeIdentity, parseTcbInfo } from '../../src/attestation/collateral.js';
import { fixtureCase, intelRoot } from './dcap-fixtures.js';

const seeds = ['phala-sgx-v3', 'phala-tdx-v4', 'gotdx-tdx-v5', 'oasis-sgx-v3-eppid-certtype3'].map((id) => fixtureCase(id).quote);

function parseOutcome(bytes: Uint8Array): 'ok' | 'refused' {
  try {
    parseQuote(bytes);
    return 'ok';
  } catch (err) {
    if (err instanceof QuoteParseError) return 'refused';
    throw err;
  }
}

/** A real quote with random byte edits, truncation/extension and length-field rewrites. */
const mutatedQuote = fc.record({
  seed: fc.integer({ min: 0, max: seeds.length - 1 }),
  edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
  u32: fc.option(fc.record({ at: fc.nat(), value: fc.nat({ max: 0xffffffff }) })),
  cut: fc.option(fc.nat()),
  extra: fc.uint8Array({ maxLength: 64 }),
}).map(({ seed, edits, u32, cut, extra }) => {
  const base = seeds[seed]!;
  const out = new Uint8Array(base.length + extra.length);
  out.set(base);
  out.set(extra, base.length);
  for (const e of edits) out[e.at % out.length] = e.value;
  const view = new DataView(out.buffer);
  if (u32 && out.length >= 4) view.setUint32(u32.at % (out.length - 3), u32.value, true);
  return cut === null ? out : out.subarray(0, cut % (out.length + 1));
});

describe('quote parser fuzzing', () => {
  it('random bytes (with plausible v3/v4/v5 headers) only ever parse or throw QuoteParseError', () => {
    const header = fc.tuple(fc.constantFrom(3, 4, 5), fc.constantFrom(0, 0x81), fc.uint8Array({ minLength: 0, maxLength: 6000 }));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 6000 }), header.map(([v, tee, rest]) => {
      const b = new Uint8Array(Math.max(8, rest.length));
      b.set(rest.subarray(0, b.length));
      const dv = new DataView(b.buffer);
      dv.setUint16(0, v, true); dv.setUint16(2, 2, true); dv.setUint32(4, tee, true);
      return b;
    })), (bytes) => { expect(parseOutcome(bytes)).toBe('refused'); }), { seed: 42, numRuns: 2000 });
  });

  it('mutated real quotes only ever parse or throw QuoteParseError', () => {
    let parsed = 0;
    fc.assert(fc.property(mutatedQuote, (bytes) => { if (parseOutcome(bytes) === 'ok') parsed++; }), { seed: 42, numRuns: 3000 });
    // Edits inside the signed body keep the layout valid, so the fuzzer does reach the success path.
    expect(parsed).toBeGreaterThan(0);
  });

  it('verifyQuote returns a verdict (never throws) on mutated quotes, and accepts none that changed signed bytes', () => {
    const { c, quote, collateralJson } = fixtureCase('phala-tdx-v4');
    const collateral = loadCollateral(collateralJson);
    const cache = new VerificationCache();
    const original = Buffer.from(quote);
    fc.assert(fc.property(mutatedQuote, (bytes) => {
      const v = verifyQuote(bytes, collateral, { now: c.now, trustedRoot: intelRoot, cache });
      if (v.ok) {
        // Only the zero padding after the signature data may differ from the original.
        const end = parseQuote(bytes).raw.length;
        expect(Buffer.from(bytes.subarray(0, end)).equals(original.subarray(0, end))).toBe(true);
      }
    }), { seed: 7, numRuns: 400 });
  });
});

describe('collateral parser fuzzing', () => {
  it('TCB info and QE identity parsers only ever succeed or throw CollateralFormatError', () => {
    const texts = ['phala-sgx-v3', 'phala-tdx-v4', 'gotdx-tdx-v5'].flatMap((id) => {
      const j = fixtureCase(id).collateralJson;
      return [j.tcb_info!, j.qe_identity!];
    });
    const mutated = fc.record({
      i: fc.nat({ max: texts.length - 1 }),
      edits: fc.array(fc.record({ at: fc.nat(), ch: fc.constantFrom('0', '9', '"', '{', '}', '[', ']', ',', ':', '-', 'a', 'Z', ' ', 'null', '1e400', '-1') }), { maxLength: 4 }),
    }).map(({ i, edits }) => {
      let t = texts[i]!;
      for (const e of edits) { const k = e.at % t.length; t = t.slice(0, k) + e.ch + t.slice(k + 1); }
      return t;
    });
    fc.assert(fc.property(fc.oneof(mutated, fc.json(), fc.string()), (text) => {
      for (const parse of [parseTcbInfo, parseQeIdentity]) {
        try { parse(text); } catch (err) { if (!(err instanceof CollateralFormatError)) throw err; }
      }
    }), { seed: 42, numRuns: 3000 });
  });
});
