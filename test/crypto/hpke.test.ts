// HPKE (RFC 9180) DHKEM(secp256k1): the draft's vectors verbatim with KEM id 0x0013, round trips and
// refusals with the production id 0x0016.
import fs from 'node:fs';
import path from 'node:path';
import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { FIXTURES_DIR } from '../helpers/shared.js';
import { concatBytes, utf8 } from '../../src/crypto/bytes.js';
import {
  KEM_SECP256K1_SHA256,
  KEM_SECP256K1_SHA256_DRAFT,
  HpkeError,
  HpkeOpenError,
  deriveKeyPair,
  generateTransportKeyPair,
  hpkeOpen,
  hpkeSeal,
  hpkeSuite,
  openFromPeer,
  sealToPeer,
  setupBaseR,
  setupBaseS,
} from '../../src/crypto/hpke.js';

interface Vector {
  info: string; ikmE: string; skEm: string; pkEm: string; ikmR: string; skRm: string; pkRm: string;
  shared_secret: string; key: string; base_nonce: string; exporter_secret: string;
}
const fixture = JSON.parse(
  fs.readFileSync(path.join(FIXTURES_DIR, 'hpke', 'secp256k1-draft-vectors.json'), 'utf8'),
) as { kem_id_used_by_these_vectors: string; vectors: Vector[] };
const h = hexToBytes;
const hex = bytesToHex;

// AES-256-GCM of RFC 9180 §5.2 computed independently from the vector's key and nonce.
function aesGcm(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  return concatBytes(c.update(pt), c.final(), c.getAuthTag());
}

function nonceFor(baseNonce: Uint8Array, seq: number): Uint8Array {
  const n = baseNonce.slice();
  n[n.length - 1] = n[n.length - 1]! ^ seq;
  return n;
}

// RFC 9180 §4 LabeledExpand(exporter_secret, "sec", ctx, L) with the HPKE suite_id, written out here
// so the exporter check does not depend on the library's own labelling.
function exportFromSecret(exporterSecret: Uint8Array, kemId: number, ctx: Uint8Array, len: number): Uint8Array {
  const suiteId = concatBytes(utf8('HPKE'), new Uint8Array([kemId >> 8, kemId & 0xff, 0, 1, 0, 2]));
  const info = concatBytes(new Uint8Array([0, len]), utf8('HPKE-v1'), suiteId, utf8('sec'), ctx);
  return expand(sha256, exporterSecret, info, len);
}

describe('draft-wahby-cfrg-hpke-kem-secp256k1 vectors (KEM id 0x0013)', () => {
  test('the fixture says it was computed with 0x0013', () => {
    expect(Number(fixture.kem_id_used_by_these_vectors)).toBe(KEM_SECP256K1_SHA256_DRAFT);
    expect(fixture.vectors).toHaveLength(3);
  });

  describe.each(fixture.vectors.map((v, i) => [i, v] as const))('vector %i', (_i, v) => {
    const kemId = KEM_SECP256K1_SHA256_DRAFT;

    test('DeriveKeyPair(ikmE), DeriveKeyPair(ikmR) give skEm/pkEm, skRm/pkRm', async () => {
      const e = await deriveKeyPair(h(v.ikmE), kemId);
      const r = await deriveKeyPair(h(v.ikmR), kemId);
      expect(hex(e.secretKey)).toBe(v.skEm);
      expect(hex(e.publicKey)).toBe(v.pkEm);
      expect(hex(r.secretKey)).toBe(v.skRm);
      expect(hex(r.publicKey)).toBe(v.pkRm);
    });

    test('Encap gives enc = pkEm and shared_secret; Decap gives the same shared_secret', async () => {
      const { kem } = hpkeSuite(kemId);
      const pkR = await kem.deserializePublicKey(h(v.pkRm));
      const { sharedSecret, enc } = await kem.encap({ recipientPublicKey: pkR, ekm: h(v.ikmE) });
      expect(hex(new Uint8Array(enc))).toBe(v.pkEm);
      expect(hex(new Uint8Array(sharedSecret))).toBe(v.shared_secret);
      const skR = await kem.deserializePrivateKey(h(v.skRm));
      expect(hex(new Uint8Array(await kem.decap({ recipientKey: skR, enc: h(v.pkEm) })))).toBe(v.shared_secret);
    });

    test('the key schedule gives key, base_nonce and exporter_secret', async () => {
      const { enc, context } = await setupBaseS(h(v.pkRm), h(v.info), { kemId, ikmE: h(v.ikmE) });
      expect(hex(enc)).toBe(v.pkEm);
      const aad = utf8('Count-0');
      const pt = utf8('Beauty is truth, truth beauty');
      // seq 0 and seq 1 encrypt under key with base_nonce XOR seq (RFC 9180 §5.2).
      const ct0 = new Uint8Array(await context.seal(pt, aad));
      const ct1 = new Uint8Array(await context.seal(pt, utf8('Count-1')));
      expect(hex(ct0)).toBe(hex(aesGcm(h(v.key), h(v.base_nonce), pt, aad)));
      expect(hex(ct1)).toBe(hex(aesGcm(h(v.key), nonceFor(h(v.base_nonce), 1), pt, utf8('Count-1'))));
      for (const ctx of [new Uint8Array(0), utf8('TestContext')]) {
        const exported = new Uint8Array(await context.export(ctx, 32));
        expect(hex(exported)).toBe(hex(exportFromSecret(h(v.exporter_secret), kemId, ctx, 32)));
      }
      const r = await setupBaseR(h(v.skRm), enc, h(v.info), { kemId });
      expect(hex(new Uint8Array(await r.open(ct0, aad)))).toBe(hex(pt));
      expect(hex(new Uint8Array(await r.open(ct1, utf8('Count-1'))))).toBe(hex(pt));
    });

    test('with the IANA id 0x0016 the same inputs give different keys, shared secret and schedule', async () => {
      const e = await deriveKeyPair(h(v.ikmE), KEM_SECP256K1_SHA256);
      expect(hex(e.secretKey)).not.toBe(v.skEm);
      const { kem } = hpkeSuite(KEM_SECP256K1_SHA256);
      const pkR = await kem.deserializePublicKey(h(v.pkRm));
      // Same ephemeral key as the vector, so only the suite_id differs.
      const ekm = { privateKey: await kem.deserializePrivateKey(h(v.skEm)), publicKey: await kem.deserializePublicKey(h(v.pkEm)) };
      const { sharedSecret } = await kem.encap({ recipientPublicKey: pkR, ekm });
      expect(hex(new Uint8Array(sharedSecret))).not.toBe(v.shared_secret);
      const { context } = await setupBaseS(h(v.pkRm), h(v.info), { kemId: KEM_SECP256K1_SHA256, ikmE: h(v.ikmE) });
      const pt = utf8('x');
      expect(hex(new Uint8Array(await context.seal(pt)))).not.toBe(hex(aesGcm(h(v.key), h(v.base_nonce), pt, new Uint8Array(0))));
      expect(hex(new Uint8Array(await context.export(new Uint8Array(0), 32))))
        .not.toBe(hex(exportFromSecret(h(v.exporter_secret), KEM_SECP256K1_SHA256, new Uint8Array(0), 32)));
    });
  });
});

describe('hpkeSeal / hpkeOpen with KEM id 0x0016', () => {
  const recipient = generateTransportKeyPair();
  const info = utf8('gatekeeper/v1/test');

  test('transport keys are 32-byte secret, 65-byte uncompressed public', () => {
    expect(recipient.secretKey).toHaveLength(32);
    expect(recipient.publicKey).toHaveLength(65);
    expect(recipient.publicKey[0]).toBe(0x04);
    expect(hex(secp256k1.getPublicKey(recipient.secretKey, false))).toBe(hex(recipient.publicKey));
  });

  test('round trip over random sizes and AADs, with compressed and uncompressed recipient keys', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ maxLength: 64 }), fc.boolean(), async (pt, aad, compressed) => {
        const pk = compressed ? secp256k1.getPublicKey(recipient.secretKey, true) : recipient.publicKey;
        const { enc, ciphertext } = await hpkeSeal(pk, info, pt, aad);
        expect(enc).toHaveLength(65);
        expect(ciphertext).toHaveLength(pt.length + 16);
        expect(hex(await hpkeOpen(recipient.secretKey, enc, info, ciphertext, aad))).toBe(hex(pt));
      }),
      { seed: 42, numRuns: 40 },
    );
  });

  test('the ciphertext does not contain the plaintext and two seals differ', async () => {
    const pt = utf8('a secret share that must not leak');
    const a = await hpkeSeal(recipient.publicKey, info, pt);
    const b = await hpkeSeal(recipient.publicKey, info, pt);
    expect(hex(a.enc)).not.toBe(hex(b.enc));
    expect(hex(a.ciphertext)).not.toContain(hex(pt));
  });

  describe('refusals', () => {
    const pt = utf8('attack at dawn');
    const aad = utf8('aad');
    let sealed: { enc: Uint8Array; ciphertext: Uint8Array };
    beforeAll(async () => { sealed = await hpkeSeal(recipient.publicKey, info, pt, aad); });

    async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
      const err = await p.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(HpkeOpenError);
      expect((err as Error).message).toMatch(pattern);
      // A key never shows up in an error.
      expect((err as Error).message).not.toContain(hex(recipient.secretKey));
    }

    test('wrong recipient key', async () => {
      await refused(hpkeOpen(generateTransportKeyPair().secretKey, sealed.enc, info, sealed.ciphertext, aad), /does not authenticate/);
    });
    test('wrong info', async () => {
      await refused(hpkeOpen(recipient.secretKey, sealed.enc, utf8('gatekeeper/v1/other'), sealed.ciphertext, aad), /does not authenticate/);
    });
    test('wrong or missing AAD', async () => {
      await refused(hpkeOpen(recipient.secretKey, sealed.enc, info, sealed.ciphertext, utf8('aae')), /does not authenticate/);
      await refused(hpkeOpen(recipient.secretKey, sealed.enc, info, sealed.ciphertext), /does not authenticate/);
    });
    test('every single-bit flip of the ciphertext', async () => {
      for (let i = 0; i < sealed.ciphertext.length; i++) {
        const t = sealed.ciphertext.slice();
        t[i] = t[i]! ^ (1 << (i % 8));
        await refused(hpkeOpen(recipient.secretKey, sealed.enc, info, t, aad), /does not authenticate/);
      }
    });
    test('truncated ciphertext', async () => {
      await refused(hpkeOpen(recipient.secretKey, sealed.enc, info, sealed.ciphertext.subarray(0, 15), aad), /shorter than the 16-byte/);
      await refused(hpkeOpen(recipient.secretKey, sealed.enc, info, sealed.ciphertext.subarray(1), aad), /does not authenticate/);
    });
    test('tampered enc: another valid point, an invalid point, compressed form, wrong length', async () => {
      await refused(hpkeOpen(recipient.secretKey, generateTransportKeyPair().publicKey, info, sealed.ciphertext, aad), /does not authenticate/);
      const offCurve = sealed.enc.slice();
      offCurve[64] = offCurve[64]! ^ 1;
      await refused(hpkeOpen(recipient.secretKey, offCurve, info, sealed.ciphertext, aad), /enc is not/);
      const compressed = secp256k1.Point.fromBytes(sealed.enc).toBytes(true);
      await refused(hpkeOpen(recipient.secretKey, compressed, info, sealed.ciphertext, aad), /enc is not/);
      await refused(hpkeOpen(recipient.secretKey, sealed.enc.subarray(0, 64), info, sealed.ciphertext, aad), /enc is not/);
    });
    test('malformed secret key', async () => {
      await refused(hpkeOpen(new Uint8Array(32), sealed.enc, info, sealed.ciphertext, aad), /secret key/);
      await refused(hpkeOpen(new Uint8Array(31).fill(1), sealed.enc, info, sealed.ciphertext, aad), /secret key/);
      await refused(hpkeOpen(new Uint8Array(32).fill(0xff), sealed.enc, info, sealed.ciphertext, aad), /secret key/);
    });
    test('a bad recipient public key is refused when sealing', async () => {
      await expect(hpkeSeal(new Uint8Array(64), info, pt)).rejects.toThrow(HpkeError);
      const bad = recipient.publicKey.slice();
      bad[64] = bad[64]! ^ 1;
      await expect(hpkeSeal(bad, info, pt)).rejects.toThrow(/not a valid secp256k1 point/);
      await expect(hpkeSeal(recipient.publicKey, info, 'text' as unknown as Uint8Array)).rejects.toThrow(/plaintext must be a Uint8Array/);
      await expect(hpkeSeal(recipient.publicKey, 'info' as unknown as Uint8Array, pt)).rejects.toThrow(/info must be a Uint8Array/);
    });
  });
});

describe('sealToPeer / openFromPeer', () => {
  const recipient = generateTransportKeyPair();

  test('round trip is enc(65) || ciphertext with info "gatekeeper/v1/peer/" + context', async () => {
    const pt = randomBytes(100);
    const sealed = await sealToPeer(recipient.publicKey, 'dkg-round2', pt);
    expect(sealed).toHaveLength(65 + 100 + 16);
    expect(hex(await openFromPeer(recipient.secretKey, 'dkg-round2', sealed))).toBe(hex(pt));
    // The layout and info are what the brief fixes: open it as plain HPKE.
    const opened = await hpkeOpen(recipient.secretKey, sealed.subarray(0, 65), utf8('gatekeeper/v1/peer/dkg-round2'), sealed.subarray(65));
    expect(hex(opened)).toBe(hex(pt));
  });

  test('a message sealed for one context does not open in another', async () => {
    const sealed = await sealToPeer(recipient.publicKey, 'dkg-round2', utf8('share'));
    await expect(openFromPeer(recipient.secretKey, 'reshare', sealed)).rejects.toThrow(HpkeOpenError);
  });

  test('short or tampered sealed messages are refused', async () => {
    const sealed = await sealToPeer(recipient.publicKey, 'x', utf8('share'));
    await expect(openFromPeer(recipient.secretKey, 'x', sealed.subarray(0, 80))).rejects.toThrow(/shorter than enc/);
    const t = sealed.slice();
    t[t.length - 1] = t[t.length - 1]! ^ 0x80;
    await expect(openFromPeer(recipient.secretKey, 'x', t)).rejects.toThrow(HpkeOpenError);
    await expect(sealToPeer(recipient.publicKey, '', utf8('share'))).rejects.toThrow(/non-empty/);
  });

  // The KEM's DH itself (libsecp256k1) is pinned by the draft vectors' shared_secret values above.
  test('key pairs (libsecp256k1) match noble\'s, and seal/open round-trips', async () => {
    for (let i = 0; i < 20; i++) {
      const kp = generateTransportKeyPair();
      expect(hex(kp.publicKey)).toBe(hex(secp256k1.getPublicKey(kp.secretKey, false)));
      const sealed = await sealToPeer(kp.publicKey, 'x', utf8(`m${i}`));
      expect(hex(await openFromPeer(kp.secretKey, 'x', sealed))).toBe(hex(utf8(`m${i}`)));
    }
  });

  test('a recipient may pass its public key; another key, or a malformed one, does not open', async () => {
    const sealed = await sealToPeer(recipient.publicKey, 'x', utf8('share'));
    expect(hex(await openFromPeer(recipient.secretKey, 'x', sealed, recipient.publicKey))).toBe(hex(utf8('share')));
    await expect(openFromPeer(recipient.secretKey, 'x', sealed, generateTransportKeyPair().publicKey)).rejects.toThrow(HpkeOpenError);
    await expect(openFromPeer(recipient.secretKey, 'x', sealed, recipient.publicKey.subarray(1))).rejects.toThrow(/recipient public key/);
  });
});
