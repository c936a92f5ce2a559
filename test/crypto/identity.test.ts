// BIP340 identity signatures with per-message-type domain separation.
import fc from 'fast-check';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { concatBytes, utf8 } from '../../src/crypto/bytes.js';
import {
  IdentityError,
  SIGNATURE_TAGS,
  type SignatureTag,
  generateIdentityKey,
  identityPublicKey,
  signTagged,
  taggedMessageHash,
  verifyTagged,
} from '../../src/crypto/identity.js';

const key = generateIdentityKey();
const msg = utf8('candidate endpoint=gk1.example:7000 stake=1000');

describe('identity keys', () => {
  test('32-byte secret and 32-byte x-only public key that match', () => {
    expect(key.secretKey).toHaveLength(32);
    expect(key.publicKey).toHaveLength(32);
    expect(bytesToHex(identityPublicKey(key.secretKey))).toBe(bytesToHex(key.publicKey));
    expect(bytesToHex(identityPublicKey(key.secretKey))).toBe(bytesToHex(schnorr.getPublicKey(key.secretKey)));
  });

  test('invalid secret keys are refused with a message that does not echo the key', () => {
    const order = hexToBytes('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
    for (const bad of [new Uint8Array(32), order, new Uint8Array(31).fill(7), new Uint8Array(33).fill(7)]) {
      let err: unknown;
      try { identityPublicKey(bad); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(IdentityError);
      expect((err as Error).message).not.toContain(bytesToHex(bad));
      expect(() => signTagged(bad, 'vote', msg)).toThrow(IdentityError);
    }
  });
});

describe('signTagged / verifyTagged', () => {
  test('sign and verify for every tag, over random messages', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SIGNATURE_TAGS), fc.uint8Array({ maxLength: 300 }), (tag, m) => {
        const sig = signTagged(key.secretKey, tag, m);
        expect(sig).toHaveLength(64);
        expect(verifyTagged(key.publicKey, tag, m, sig)).toBe(true);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  test('the signature is a stock BIP340 signature over taggedHash("gatekeeper/v1/" + tag, message)', () => {
    const sig = signTagged(key.secretKey, 'snapshot', msg);
    // BIP340 tagged hash written out from its definition, independent of the code under test.
    const t = sha256(utf8('gatekeeper/v1/snapshot'));
    const digest = sha256(concatBytes(t, t, msg));
    expect(bytesToHex(taggedMessageHash('snapshot', msg))).toBe(bytesToHex(digest));
    expect(schnorr.verify(sig, digest, key.publicKey)).toBe(true);
    // ...and it is not a signature over the raw message.
    expect(schnorr.verify(sig, msg, key.publicKey)).toBe(false);
  });

  test('a signature for one message type never verifies as another', () => {
    for (const tag of SIGNATURE_TAGS) {
      const sig = signTagged(key.secretKey, tag, msg);
      for (const other of SIGNATURE_TAGS) {
        expect(verifyTagged(key.publicKey, other, msg, sig)).toBe(other === tag);
      }
    }
  });

  test('an untagged BIP340 signature over the raw message is refused', () => {
    const raw = schnorr.sign(msg, key.secretKey);
    expect(verifyTagged(key.publicKey, 'vote', msg, raw)).toBe(false);
  });

  test('tampered message, tampered signature and another key are refused', () => {
    const sig = signTagged(key.secretKey, 'vote', msg);
    const m2 = msg.slice();
    m2[0] = m2[0]! ^ 1;
    expect(verifyTagged(key.publicKey, 'vote', m2, sig)).toBe(false);
    expect(verifyTagged(key.publicKey, 'vote', concatBytes(msg, new Uint8Array([0])), sig)).toBe(false);
    for (let i = 0; i < 64; i += 7) {
      const s2 = sig.slice();
      s2[i] = s2[i]! ^ 0x10;
      expect(verifyTagged(key.publicKey, 'vote', msg, s2)).toBe(false);
    }
    expect(verifyTagged(generateIdentityKey().publicKey, 'vote', msg, sig)).toBe(false);
  });

  test('malformed keys, signatures, tags and messages return false and never throw', () => {
    const sig = signTagged(key.secretKey, 'peer', msg);
    const compressed = secp256k1.getPublicKey(key.secretKey, true);
    // x = 5 is not the x-coordinate of a secp256k1 point; x >= p is out of range.
    const notOnCurve = hexToBytes('0000000000000000000000000000000000000000000000000000000000000005');
    const tooBig = new Uint8Array(32).fill(0xff);
    const cases: Array<[unknown, unknown, unknown, unknown]> = [
      [compressed, 'peer', msg, sig],
      [key.publicKey.subarray(0, 31), 'peer', msg, sig],
      [notOnCurve, 'peer', msg, sig],
      [tooBig, 'peer', msg, sig],
      [new Uint8Array(32), 'peer', msg, sig],
      [key.publicKey, 'peer', msg, sig.subarray(0, 63)],
      [key.publicKey, 'peer', msg, concatBytes(sig, new Uint8Array([0]))],
      [key.publicKey, 'peer', msg, new Uint8Array(64)],
      [key.publicKey, 'peer', msg, concatBytes(sig.subarray(0, 32), new Uint8Array(32).fill(0xff))],
      [key.publicKey, 'peer', msg, concatBytes(new Uint8Array(32).fill(0xff), sig.subarray(32))],
      [key.publicKey, 'not-a-tag', msg, sig],
      [key.publicKey, undefined, msg, sig],
      [key.publicKey, 'peer', 'a string', sig],
      [null, 'peer', msg, sig],
      [key.publicKey, 'peer', msg, 'deadbeef'],
    ];
    for (const [pk, tag, m, s] of cases) {
      expect(() => verifyTagged(pk as Uint8Array, tag as SignatureTag, m as Uint8Array, s as Uint8Array)).not.toThrow();
      expect(verifyTagged(pk as Uint8Array, tag as SignatureTag, m as Uint8Array, s as Uint8Array)).toBe(false);
    }
  });

  test('signing with an unknown tag is refused', () => {
    expect(() => signTagged(key.secretKey, 'rpc' as SignatureTag, msg)).toThrow(/unknown signature tag/);
  });

  test('Buffer inputs work like Uint8Array', () => {
    const sig = signTagged(Buffer.from(key.secretKey), 'policy', Buffer.from(msg));
    expect(verifyTagged(Buffer.from(key.publicKey), 'policy', Buffer.from(msg), Buffer.from(sig))).toBe(true);
  });
});

// identity.ts signs and verifies with libsecp256k1 (tiny-secp256k1); noble's BIP340 is the reference.
describe('libsecp256k1 and noble agree', () => {
  test('public keys, and signatures each side makes verify on the other', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.constantFrom(...SIGNATURE_TAGS), (m, tag) => {
      const k = generateIdentityKey();
      expect(bytesToHex(identityPublicKey(k.secretKey))).toBe(bytesToHex(schnorr.getPublicKey(k.secretKey)));
      const ours = signTagged(k.secretKey, tag, m);
      expect(schnorr.verify(ours, taggedMessageHash(tag, m), k.publicKey)).toBe(true);
      const theirs = schnorr.sign(taggedMessageHash(tag, m), k.secretKey);
      expect(verifyTagged(k.publicKey, tag, m, theirs)).toBe(true);
    }), { numRuns: 40, seed: 340 });
  });

  test('the same verdict as noble on corrupted signatures, keys and edge values', () => {
    const digest = taggedMessageHash('peer', msg);
    const good = signTagged(key.secretKey, 'peer', msg);
    const p = secp256k1.Point.CURVE().p;
    const n = secp256k1.Point.CURVE().n;
    const be = (x: bigint) => hexToBytes(x.toString(16).padStart(64, '0'));
    const cases: [Uint8Array, Uint8Array][] = [
      [good, key.publicKey],
      [concatBytes(good.subarray(0, 32), new Uint8Array(32)), key.publicKey], // s = 0
      [concatBytes(good.subarray(0, 32), be(n)), key.publicKey], // s = n
      [concatBytes(be(p), good.subarray(32)), key.publicKey], // r = p
      [good, be(p - 1n)], // x with no point on the curve? (either way both must agree)
      [good, new Uint8Array(32)], // x = 0
    ];
    for (let i = 0; i < 64; i++) {
      const bad = good.slice();
      bad[i % 64]! ^= 1 << (i % 8);
      cases.push([bad, key.publicKey]);
      const pk = key.publicKey.slice();
      pk[i % 32]! ^= 1 << (i % 8);
      cases.push([good, pk]);
    }
    for (const [sig, pk] of cases) {
      expect([bytesToHex(sig), bytesToHex(pk), verifyTagged(pk, 'peer', msg, sig)])
        .toEqual([bytesToHex(sig), bytesToHex(pk), schnorr.verify(sig, digest, pk)]);
    }
  });
});
