// Invocation envelope v1 (DESIGN §8).
import fc from 'fast-check';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { concatBytes, utf8 } from '../../src/crypto/bytes.js';
import { HpkeOpenError, generateTransportKeyPair, hpkeOpen } from '../../src/crypto/hpke.js';
import {
  EnvelopeError,
  decodeEnvelope,
  encodeEnvelope,
  invocationInfo,
  openInvocation,
  sealInvocation,
} from '../../src/crypto/envelope.js';

const hex = bytesToHex;
const contract = generateTransportKeyPair();
const cid = utf8('acme/payments');

function u16(n: number): Uint8Array { return new Uint8Array([n >> 8, n & 0xff]); }
function u32(n: number): Uint8Array { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; }

describe('invocationInfo', () => {
  test('is "gatekeeper/v1/invocation" || lp(cid) || u32be(v)', () => {
    const expected = concatBytes(utf8('gatekeeper/v1/invocation'), u16(cid.length), cid, u32(7));
    expect(hex(invocationInfo(cid, 7))).toBe(hex(expected));
  });
});

describe('sealInvocation / openInvocation', () => {
  test('layout is 0x01 || lp(cid) || u32be(v) || enc(65) || ciphertext, and it is plain HPKE underneath', async () => {
    const pt = utf8('{"method":"transfer","amount":5}');
    const env = await sealInvocation(contract.publicKey, cid, 3, pt);
    expect(env[0]).toBe(0x01);
    expect(hex(env.subarray(1, 3))).toBe(hex(u16(cid.length)));
    expect(hex(env.subarray(3, 3 + cid.length))).toBe(hex(cid));
    let off = 3 + cid.length;
    expect(hex(env.subarray(off, off + 4))).toBe(hex(u32(3)));
    off += 4;
    const enc = env.subarray(off, off + 65);
    expect(enc[0]).toBe(0x04);
    const ct = env.subarray(off + 65);
    expect(ct).toHaveLength(pt.length + 16);
    // An independent client that only knows DESIGN §8 opens it with HPKE and the documented info.
    const info = concatBytes(utf8('gatekeeper/v1/invocation'), u16(cid.length), cid, u32(3));
    expect(hex(await hpkeOpen(contract.secretKey, enc, info, ct))).toBe(hex(pt));
    const opened = await openInvocation(contract.secretKey, env);
    expect(hex(opened.cid)).toBe(hex(cid));
    expect(opened.version).toBe(3);
    expect(hex(opened.plaintext)).toBe(hex(pt));
  });

  test('a 33-byte compressed contract key works too', async () => {
    const env = await sealInvocation(secp256k1.getPublicKey(contract.secretKey, true), cid, 0, utf8('hi'));
    expect(Buffer.from((await openInvocation(contract.secretKey, env)).plaintext).toString()).toBe('hi');
  });

  test('property: random cid, version, plaintext and AAD round-trip through encode/decode and seal/open', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 600 }),
        fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
        async (c, v, pt, aad) => {
          const env = await sealInvocation(contract.publicKey, c, v, pt, aad);
          const d = decodeEnvelope(env);
          expect(hex(d.cid)).toBe(hex(c));
          expect(d.version).toBe(v);
          expect(hex(encodeEnvelope(d))).toBe(hex(env));
          const o = await openInvocation(contract.secretKey, env, aad);
          expect(hex(o.plaintext)).toBe(hex(pt));
          expect(hex(o.cid)).toBe(hex(c));
          expect(o.version).toBe(v);
        },
      ),
      { seed: 42, numRuns: 40 },
    );
  });

  describe('attacks are refused', () => {
    let env: Uint8Array;
    const pt = utf8('pay 100 to alice');
    beforeAll(async () => { env = await sealInvocation(contract.publicKey, cid, 1, pt, utf8('session-9')); });

    test('relabelling the envelope for another contract or key version', async () => {
      const d = decodeEnvelope(env);
      for (const [c, v] of [[utf8('acme/payments2'), 1], [cid, 2], [utf8('acme/paymentz'), 1]] as const) {
        const moved = encodeEnvelope({ ...d, cid: c, version: v });
        await expect(openInvocation(contract.secretKey, moved, utf8('session-9'))).rejects.toThrow(HpkeOpenError);
      }
    });

    test('wrong contract key, wrong or missing AAD', async () => {
      await expect(openInvocation(generateTransportKeyPair().secretKey, env, utf8('session-9'))).rejects.toThrow(HpkeOpenError);
      await expect(openInvocation(contract.secretKey, env, utf8('session-8'))).rejects.toThrow(HpkeOpenError);
      await expect(openInvocation(contract.secretKey, env)).rejects.toThrow(HpkeOpenError);
    });

    test('any flipped bit in enc or ciphertext', async () => {
      const headerLen = 1 + 2 + cid.length + 4;
      for (let i = headerLen; i < env.length; i += 3) {
        const t = env.slice();
        t[i] = t[i]! ^ 0x04;
        const err = await openInvocation(contract.secretKey, t, utf8('session-9')).then(() => null, (e: unknown) => e);
        // A flipped enc byte usually leaves the curve (EnvelopeError); otherwise the AEAD refuses it.
        expect(err instanceof EnvelopeError || err instanceof HpkeOpenError).toBe(true);
      }
    });
  });
});

describe('decodeEnvelope refuses every malformation with a clear EnvelopeError', () => {
  let env: Uint8Array;
  beforeAll(async () => { env = await sealInvocation(contract.publicKey, cid, 9, utf8('payload')); });
  const headerLen = 1 + 2 + cid.length + 4;

  function refused(bytes: Uint8Array, re: RegExp): void {
    let err: unknown;
    try { decodeEnvelope(bytes); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EnvelopeError);
    expect((err as Error).message).toMatch(re);
  }

  test('empty input and a bad version byte', () => {
    refused(new Uint8Array(0), /empty/);
    for (const v of [0x00, 0x02, 0xff]) {
      const t = env.slice();
      t[0] = v;
      refused(t, /unsupported format version/);
    }
  });

  test('truncated lp(cid), empty cid, cid longer than the input', () => {
    refused(env.subarray(0, 1), /before the cid length prefix/);
    refused(env.subarray(0, 2), /before the cid length prefix/);
    refused(env.subarray(0, 3 + cid.length - 1), /truncated cid/);
    refused(concatBytes(new Uint8Array([1]), u16(0), env.subarray(3 + cid.length)), /cid is empty/);
    refused(concatBytes(new Uint8Array([1]), u16(0xffff), cid), /truncated cid: the length prefix says 65535/);
  });

  test('truncated version and enc', () => {
    refused(env.subarray(0, headerLen - 1), /4-byte key version/);
    refused(env.subarray(0, headerLen + 64), /truncated enc/);
  });

  test('enc that is not a valid uncompressed point', () => {
    const offCurve = env.slice();
    offCurve[headerLen + 64] = offCurve[headerLen + 64]! ^ 1;
    refused(offCurve, /enc is not an uncompressed secp256k1 point/);
    const compressedPrefix = env.slice();
    compressedPrefix[headerLen] = 0x02;
    refused(compressedPrefix, /enc is not an uncompressed secp256k1 point/);
    const zero = concatBytes(env.subarray(0, headerLen), new Uint8Array(65), new Uint8Array(16));
    refused(zero, /enc is not/);
  });

  test('ciphertext shorter than the 16-byte tag', () => {
    refused(env.subarray(0, headerLen + 65), /shorter than the 16-byte AEAD tag/);
    refused(env.subarray(0, headerLen + 65 + 15), /15 bytes, shorter than the 16-byte AEAD tag/);
    expect(decodeEnvelope(env.subarray(0, headerLen + 65 + 16)).ciphertext).toHaveLength(16);
  });

  test('property: every strict prefix too short to hold a tag is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: headerLen + 65 + 15 }), (n) => {
        expect(() => decodeEnvelope(env.subarray(0, n))).toThrow(EnvelopeError);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  test('encodeEnvelope checks its fields too', () => {
    const d = decodeEnvelope(env);
    expect(() => encodeEnvelope({ ...d, cid: new Uint8Array(0) })).toThrow(/cid is empty/);
    expect(() => encodeEnvelope({ ...d, cid: new Uint8Array(0x10000) })).toThrow(/at most 65535/);
    expect(() => encodeEnvelope({ ...d, version: -1 })).toThrow(/key version/);
    expect(() => encodeEnvelope({ ...d, version: 2 ** 32 })).toThrow(/key version/);
    expect(() => encodeEnvelope({ ...d, version: 1.5 })).toThrow(/key version/);
    expect(() => encodeEnvelope({ ...d, enc: d.enc.subarray(1) })).toThrow(/enc must be 65 bytes/);
    expect(() => encodeEnvelope({ ...d, ciphertext: new Uint8Array(3) })).toThrow(/shorter than the 16-byte/);
  });

  test('openInvocation reports malformed envelopes as EnvelopeError before any decryption', async () => {
    await expect(openInvocation(contract.secretKey, env.subarray(0, 5))).rejects.toThrow(EnvelopeError);
  });
});
