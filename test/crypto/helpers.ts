// Test helpers: a seeded byte generator (tests stay deterministic) and a whole in-memory DKG.
import { sha256 } from '@noble/hashes/sha2.js';
import { secp256k1_FROST } from '@noble/curves/secp256k1.js';
import {
  dkgRound1, dkgRound2, dkgRound3, identifierForPosition,
  type DkgRound1Package, type DkgRound2Package, type Identifier, type KeyPackage, type Rng, type Suite,
} from '../../src/crypto/frost.js';
import { u32be, utf8, concatBytes } from '../../src/crypto/bytes.js';

/** Deterministic RNG: SHA-256(seed || counter) blocks. Test use only. */
export function seededRng(seed: string | number): Rng {
  let counter = 0;
  const s = utf8(String(seed));
  return (len = 32) => {
    const out = new Uint8Array(len);
    for (let off = 0; off < len; off += 32) {
      const block = sha256(concatBytes(s, u32be(counter++)));
      out.set(block.subarray(0, Math.min(32, len - off)), off);
    }
    return out;
  };
}

/**
 * n identifiers: a roster's 1..n, or with `tag` n arbitrary hashed scalars (noble's Identifier.derive),
 * which the crypto must handle as well and which differ between tags.
 */
export function makeIdentifiers(n: number, tag?: string): Identifier[] {
  return Array.from({ length: n }, (_, i) => tag === undefined ? identifierForPosition(i) : secp256k1_FROST.Identifier.derive(`${tag}-${i}`));
}

/** Runs a complete honest DKG among `ids` and returns every member's key package. */
export function runDkg(suite: Suite, ids: Identifier[], threshold: number, rng: Rng): KeyPackage[] {
  const params = { threshold, participants: ids.length };
  const r1 = ids.map((id) => dkgRound1(suite, id, params, rng));
  const broadcasts: DkgRound1Package[] = r1.map((r) => r.round1);
  const others = (id: Identifier) => broadcasts.filter((b) => b.identifier !== id);
  const outbox: DkgRound2Package[] = [];
  r1.forEach((r, i) => outbox.push(...dkgRound2(r.state, others(ids[i]!))));
  return r1.map((r, i) => dkgRound3(r.state, others(ids[i]!), outbox.filter((m) => m.recipient === ids[i])));
}

/** Picks `k` distinct elements of `arr` by a list of indices into a shrinking pool. */
export function pick<T>(arr: T[], picks: number[], k: number): T[] {
  const pool = [...arr];
  const out: T[] = [];
  for (let i = 0; i < k; i++) out.push(pool.splice((picks[i] ?? 0) % pool.length, 1)[0]!);
  return out;
}
