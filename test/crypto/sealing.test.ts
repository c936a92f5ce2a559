// Sealing at rest and Shamir unseal shares.
import { createDecipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { bytesToHex } from '@noble/hashes/utils.js';
import { utf8 } from '../../src/crypto/bytes.js';
import {
  SealingError,
  UNSEAL_FAILED,
  WRAPPED_DATA_KEY_LENGTH,
  decodeUnsealShare,
  encodeUnsealShare,
  initSealing,
  openAtRest,
  rewrapDataKey,
  sealAtRest,
  unsealDataKey,
} from '../../src/crypto/sealing.js';

const hex = bytesToHex;

function combinations<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...combinations(rest, k - 1).map((c) => [first, ...c]), ...combinations(rest, k)];
}

async function refusedWith(p: Promise<unknown>, message: string | RegExp): Promise<SealingError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(SealingError);
  expect((err as Error).message).toMatch(message);
  return err as SealingError;
}

describe('sealAtRest / openAtRest', () => {
  const dataKey = new Uint8Array(randomBytes(32));
  const binding = { kind: 'frost-share', location: 'dkg_shares/epoch=3/member=2' };

  test('round trip over random plaintexts; format is 0x01 || nonce(12) || ct || tag(16)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (pt) => {
        const sealed = sealAtRest(dataKey, binding, pt);
        expect(sealed[0]).toBe(0x01);
        expect(sealed).toHaveLength(1 + 12 + pt.length + 16);
        expect(hex(openAtRest(dataKey, binding, sealed))).toBe(hex(pt));
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  test('the same value sealed twice gives different bytes (random nonce) and hides the plaintext', () => {
    const pt = utf8('the secret share itself');
    const a = sealAtRest(dataKey, binding, pt);
    const b = sealAtRest(dataKey, binding, pt);
    expect(hex(a.subarray(1, 13))).not.toBe(hex(b.subarray(1, 13)));
    expect(hex(a)).not.toContain(hex(pt));
  });

  test('a value moved to another row or column, or relabelled, does not open', () => {
    const sealed = sealAtRest(dataKey, binding, utf8('secret'));
    const elsewhere = [
      { kind: 'frost-share', location: 'dkg_shares/epoch=3/member=3' },
      { kind: 'transport-secret', location: binding.location },
      { kind: 'frost-share', location: 'dkg_shares/epoch=3/member=2 ' },
      // lp() framing: shifting bytes between kind and location must not collide.
      { kind: 'frost-sharedkg_shares', location: '/epoch=3/member=2' },
    ];
    for (const b of elsewhere) expect(() => openAtRest(dataKey, b, sealed)).toThrow(/does not open/);
  });

  test('tampering with any byte is refused', () => {
    const sealed = sealAtRest(dataKey, binding, utf8('secret value'));
    for (let i = 1; i < sealed.length; i++) {
      const t = sealed.slice();
      t[i] = t[i]! ^ 0x01;
      expect(() => openAtRest(dataKey, binding, t)).toThrow(SealingError);
    }
  });

  test('wrong data key, bad version, truncated input and bad parameters give named errors', () => {
    const sealed = sealAtRest(dataKey, binding, utf8('secret'));
    expect(() => openAtRest(new Uint8Array(randomBytes(32)), binding, sealed)).toThrow(/wrong data key/);
    const v2 = sealed.slice();
    v2[0] = 2;
    expect(() => openAtRest(dataKey, binding, v2)).toThrow(/unknown format version 2/);
    expect(() => openAtRest(dataKey, binding, sealed.subarray(0, 28))).toThrow(/truncated/);
    expect(() => sealAtRest(dataKey.subarray(0, 16), binding, utf8('x'))).toThrow(/data key must be 32 bytes/);
    expect(() => sealAtRest(dataKey, { kind: '', location: 'x' }, utf8('x'))).toThrow(/binding.kind/);
    expect(() => sealAtRest(dataKey, { kind: 'x', location: '' }, utf8('x'))).toThrow(/binding.location/);
  });

  test('Buffer and Uint8Array inputs are interchangeable', () => {
    const sealed = sealAtRest(Buffer.from(dataKey), binding, Buffer.from('secret'));
    expect(Buffer.from(openAtRest(dataKey, binding, new Uint8Array(sealed))).toString()).toBe('secret');
    expect(Buffer.from(openAtRest(Buffer.from(dataKey), binding, Buffer.from(sealed))).toString()).toBe('secret');
  });
});

describe('initSealing / unsealDataKey', () => {
  test('the wrapped data key is AES-256-GCM under the unseal key with AD "gatekeeper/v1/data-key"', async () => {
    // threshold 1: each share's first 32 bytes are the unseal key itself, so the test can unwrap by hand.
    const { dataKey, wrappedDataKey, unsealShares } = await initSealing({ shares: 2, threshold: 1 });
    expect(wrappedDataKey).toHaveLength(WRAPPED_DATA_KEY_LENGTH);
    const unsealKey = unsealShares[0]!.subarray(0, 32);
    const d = createDecipheriv('aes-256-gcm', unsealKey, wrappedDataKey.subarray(1, 13));
    d.setAAD(utf8('gatekeeper/v1/data-key'));
    d.setAuthTag(wrappedDataKey.subarray(wrappedDataKey.length - 16));
    const unwrapped = Buffer.concat([d.update(wrappedDataKey.subarray(13, wrappedDataKey.length - 16)), d.final()]);
    expect(hex(unwrapped)).toBe(hex(dataKey));
  });

  test('any u of m shares unseal and every set of u-1 shares is refused (3 of 5)', async () => {
    const { dataKey, wrappedDataKey, unsealShares } = await initSealing({ shares: 5, threshold: 3 });
    expect(unsealShares).toHaveLength(5);
    for (const s of unsealShares) expect(s.constructor).toBe(Uint8Array);
    for (const subset of combinations(unsealShares, 3)) {
      expect(hex(await unsealDataKey(wrappedDataKey, subset))).toBe(hex(dataKey));
    }
    for (const subset of [...combinations(unsealShares, 2), ...combinations(unsealShares, 1)]) {
      await refusedWith(unsealDataKey(wrappedDataKey, subset), UNSEAL_FAILED);
    }
    // More than u shares also work.
    expect(hex(await unsealDataKey(wrappedDataKey, unsealShares))).toBe(hex(dataKey));
  });

  test('random (m, u) with a random u-subset unseal; u-1 do not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }).chain((m) => fc.tuple(fc.constant(m), fc.integer({ min: 1, max: m }))),
        fc.integer(),
        async ([m, u], seed) => {
          const { dataKey, wrappedDataKey, unsealShares } = await initSealing({ shares: m, threshold: u });
          const rotated = [...unsealShares.slice(Math.abs(seed) % m), ...unsealShares.slice(0, Math.abs(seed) % m)];
          expect(hex(await unsealDataKey(wrappedDataKey, rotated.slice(0, u)))).toBe(hex(dataKey));
          if (u > 1) await refusedWith(unsealDataKey(wrappedDataKey, rotated.slice(0, u - 1)), UNSEAL_FAILED);
        },
      ),
      { seed: 42, numRuns: 40 },
    );
  });

  test('threshold 1: any single share unseals; 1 of 1 works', async () => {
    const one = await initSealing({ shares: 1, threshold: 1 });
    expect(hex(await unsealDataKey(one.wrappedDataKey, one.unsealShares))).toBe(hex(one.dataKey));
    const three = await initSealing({ shares: 3, threshold: 1 });
    for (const s of three.unsealShares) expect(hex(await unsealDataKey(three.wrappedDataKey, [s]))).toBe(hex(three.dataKey));
    expect(hex(await unsealDataKey(three.wrappedDataKey, three.unsealShares))).toBe(hex(three.dataKey));
  });

  test('a wrong share, a tampered share, shares from another init and duplicates are refused', async () => {
    const a = await initSealing({ shares: 3, threshold: 2 });
    const b = await initSealing({ shares: 3, threshold: 2 });
    const [s1, s2] = a.unsealShares as [Uint8Array, Uint8Array];
    // Tampered y byte and tampered x byte.
    for (const i of [0, 17, 31, 32]) {
      const t = s2.slice();
      t[i] = t[i]! ^ 0x01;
      await refusedWith(unsealDataKey(a.wrappedDataKey, [s1, t]), UNSEAL_FAILED);
    }
    // A share from another node's init (even with the same threshold).
    await refusedWith(unsealDataKey(a.wrappedDataKey, [s1, b.unsealShares[1]!]), UNSEAL_FAILED);
    // All of another init's shares against this wrapped key.
    await refusedWith(unsealDataKey(a.wrappedDataKey, b.unsealShares), UNSEAL_FAILED);
    // A random 33-byte "share".
    await refusedWith(unsealDataKey(a.wrappedDataKey, [s1, new Uint8Array(randomBytes(33))]), UNSEAL_FAILED);
    // The same share twice counts once: still too few.
    await refusedWith(unsealDataKey(a.wrappedDataKey, [s1, s1.slice()]), UNSEAL_FAILED);
    // Two different shares with the same x-coordinate (a forged share) are refused, not crashed on.
    const forged = s1.slice();
    forged[0] = forged[0]! ^ 0xff;
    await refusedWith(unsealDataKey(a.wrappedDataKey, [s1, forged]), UNSEAL_FAILED);
    // A tampered wrapped key.
    const w = a.wrappedDataKey.slice();
    w[20] = w[20]! ^ 1;
    await refusedWith(unsealDataKey(w, [s1, s2]), UNSEAL_FAILED);
  });

  test('malformed inputs give clear errors', async () => {
    const a = await initSealing({ shares: 3, threshold: 2 });
    await refusedWith(unsealDataKey(a.wrappedDataKey, []), /no unseal shares/);
    await refusedWith(unsealDataKey(a.wrappedDataKey, [a.unsealShares[0]!.subarray(0, 32), a.unsealShares[1]!]), /share 1 must be 33 bytes/);
    await refusedWith(unsealDataKey(a.wrappedDataKey.subarray(1), a.unsealShares), /wrapped data key must be/);
    const v = a.wrappedDataKey.slice();
    v[0] = 9;
    await refusedWith(unsealDataKey(v, a.unsealShares), /unknown format version 9/);
  });

  test('threshold and share count are validated: 1 <= u <= m <= 255', async () => {
    for (const [m, u] of [[3, 0], [3, 4], [256, 2], [0, 0], [2.5, 2], [5, -1]] as const) {
      await refusedWith(initSealing({ shares: m, threshold: u }), /threshold|integers/);
    }
    const max = await initSealing({ shares: 255, threshold: 2 });
    expect(max.unsealShares).toHaveLength(255);
    expect(new Set(max.unsealShares.map((s) => s[32])).size).toBe(255);
  });

  test('Buffer shares and a Buffer wrapped key work (as read back from SQLite)', async () => {
    const { dataKey, wrappedDataKey, unsealShares } = await initSealing({ shares: 3, threshold: 2 });
    const fromDb = Buffer.from(wrappedDataKey);
    const shares = unsealShares.slice(1).map((s) => Buffer.from(s));
    expect(hex(await unsealDataKey(fromDb, shares))).toBe(hex(dataKey));
  });

  test('error messages never contain share or key bytes', async () => {
    const { wrappedDataKey, unsealShares } = await initSealing({ shares: 3, threshold: 2 });
    const err = await refusedWith(unsealDataKey(wrappedDataKey, [unsealShares[0]!]), UNSEAL_FAILED);
    for (const s of unsealShares) expect(err.message).not.toContain(hex(s.subarray(0, 8)));
  });
});

describe('rewrapDataKey', () => {
  test('new shares (and a new threshold) open the same data key; old shares do not open the new wrap', async () => {
    const a = await initSealing({ shares: 3, threshold: 2 });
    const sealedValue = sealAtRest(a.dataKey, { kind: 'k', location: 'l' }, utf8('kept'));
    const r = await rewrapDataKey(a.wrappedDataKey, a.unsealShares.slice(0, 2), { shares: 5, threshold: 4 });
    expect(r.unsealShares).toHaveLength(5);
    const dk = await unsealDataKey(r.wrappedDataKey, r.unsealShares.slice(1));
    expect(hex(dk)).toBe(hex(a.dataKey));
    expect(Buffer.from(openAtRest(dk, { kind: 'k', location: 'l' }, sealedValue)).toString()).toBe('kept');
    await refusedWith(unsealDataKey(r.wrappedDataKey, a.unsealShares), UNSEAL_FAILED);
    await refusedWith(unsealDataKey(r.wrappedDataKey, r.unsealShares.slice(0, 3)), UNSEAL_FAILED);
  });

  test('rewrap needs valid old shares', async () => {
    const a = await initSealing({ shares: 3, threshold: 2 });
    await refusedWith(rewrapDataKey(a.wrappedDataKey, a.unsealShares.slice(0, 1), { shares: 3, threshold: 2 }), UNSEAL_FAILED);
  });
});

describe('encodeUnsealShare / decodeUnsealShare', () => {
  test('round trip, tolerant of case and surrounding whitespace', async () => {
    const { unsealShares } = await initSealing({ shares: 4, threshold: 3 });
    for (const s of unsealShares) {
      const text = encodeUnsealShare(s);
      expect(text).toMatch(/^gk-unseal-1:[0-9a-f]{8}:[0-9a-f]{66}$/);
      expect(hex(decodeUnsealShare(text))).toBe(hex(s));
      expect(hex(decodeUnsealShare(`  ${text.toUpperCase()}\n`))).toBe(hex(s));
      expect(decodeUnsealShare(text).constructor).toBe(Uint8Array);
    }
  });

  test('every single-character typo in the share body is reported as a typo', async () => {
    const { unsealShares } = await initSealing({ shares: 2, threshold: 2 });
    const text = encodeUnsealShare(unsealShares[0]!);
    const start = text.lastIndexOf(':') + 1;
    for (let i = start; i < text.length; i++) {
      const c = text[i] === '0' ? '1' : '0';
      const typo = text.slice(0, i) + c + text.slice(i + 1);
      expect(() => decodeUnsealShare(typo)).toThrow(/mistyped/);
    }
    // A typo in the checksum itself is a typo too.
    const badSum = text.replace(/:([0-9a-f])/, (_m, d: string) => ':' + (d === 'a' ? 'b' : 'a'));
    expect(() => decodeUnsealShare(badSum)).toThrow(/mistyped/);
  });

  test('truncated, non-hex and foreign texts are refused without echoing the share', async () => {
    const { unsealShares } = await initSealing({ shares: 2, threshold: 2 });
    const text = encodeUnsealShare(unsealShares[0]!);
    const body = text.slice(text.lastIndexOf(':') + 1);
    const cases: Array<[string, RegExp]> = [
      [text.slice(0, -2), /truncated/],
      [text.slice(0, -1) + 'g', /not a hex digit/],
      [body, /not a gatekeeper unseal share/],
      ['gk-unseal-2:' + text.slice(12), /not a gatekeeper unseal share/],
      ['gk-unseal-1:xyz:' + body, /checksum must be 8 hex digits/],
      ['', /not a gatekeeper unseal share/],
    ];
    for (const [t, re] of cases) {
      let err: unknown;
      try { decodeUnsealShare(t); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(SealingError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain(body.slice(0, 16));
    }
    expect(() => encodeUnsealShare(new Uint8Array(32))).toThrow(SealingError);
  });
});
