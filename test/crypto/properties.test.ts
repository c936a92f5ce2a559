// Seeded property tests over random committee sizes (n in 2..16, k in 2..n). Keys come from a
// trusted dealer here to keep the runs fast; the DKG itself is covered in frost.test.ts.
import fc from 'fast-check';
import { schnorr } from '@noble/curves/secp256k1.js';
import {
  aggregateSignature, frostSuite, groupKeyFromCommitment, publicPackage, SignatureAggregationError, signingCommit,
  signShare, type Identifier, type KeyPackage, type Rng, type Suite,
} from '../../src/crypto/frost.js';
import {
  BadPartialError, combinePartials, deriveContractKey, evaluatePartial, NotEnoughPartialsError, type Partial,
} from '../../src/crypto/contract-key.js';
import { combineReshare, dealReshare } from '../../src/crypto/reshare.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { makeIdentifiers, pick, seededRng } from './helpers.js';

const RUNS = { seed: 424242, numRuns: 8 };

function deal(suite: Suite, ids: Identifier[], k: number, rng: Rng): KeyPackage[] {
  const d = frostSuite(suite).trustedDealer({ min: k, max: ids.length }, ids, undefined, rng as never);
  return ids.map((id) => ({
    suite, identifier: id, signingShare: d.secretShares[id]!.signingShare, threshold: k, participants: ids.length,
    commitments: d.public.commitments, verifyingShares: d.public.verifyingShares,
    groupPublicKey: groupKeyFromCommitment(suite, d.public.commitments[0]!),
  }));
}

function handOff(dealers: KeyPackage[], newIds: Identifier[], kNew: number, rng: Rng): KeyPackage[] {
  const dealings = dealers.map((k) => dealReshare(k, newIds, kNew, rng));
  return newIds.map((id) => combineReshare(publicPackage(dealers[0]!), newIds, kNew, id, dealings.map((d) => ({
    commitment: d.commitment, subShare: d.subShares.find((s) => s.recipient === id)!,
  }))));
}

function sign(signers: KeyPackage[], pubFor: KeyPackage, msg: Uint8Array, rng: Rng): Uint8Array {
  const rounds = signers.map((k) => signingCommit(k, rng));
  const commitments = rounds.map((r) => r.commitments);
  const shares = signers.map((k, i) => signShare(k, rounds[i]!.nonces, commitments, msg));
  return aggregateSignature(publicPackage(pubFor), commitments, msg, shares);
}

const committee = fc.integer({ min: 2, max: 16 }).chain((n) => fc.record({
  n: fc.constant(n),
  k: fc.integer({ min: 2, max: n }),
  a: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
  b: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
  seed: fc.nat(),
}));

const cid = utf8('prop-contract');

describe('contract keys (properties)', () => {
  it('any k partials give the same key pair; k-1 are refused', () => {
    fc.assert(fc.property(committee, ({ n, k, a, b, seed }) => {
      const rng = seededRng(`ck-${seed}`);
      const keys = deal('derivation', makeIdentifiers(n, `p${seed}`), k, rng);
      const vs = keys[0]!.verifyingShares;
      const partials = keys.map((key) => evaluatePartial(key, cid, 3, rng));
      const k1 = deriveContractKey(combinePartials(pick(partials, a, k), vs, k, cid, 3).Y, cid, 3);
      const k2 = deriveContractKey(combinePartials(pick(partials, b, k), vs, k, cid, 3).Y, cid, 3);
      expect(k2).toEqual(k1);
      expect(() => combinePartials(pick(partials, a, k - 1), vs, k, cid, 3)).toThrow(NotEnoughPartialsError);
    }), RUNS);
  });

  it('a tampered partial or proof is refused and blamed on its member', () => {
    fc.assert(fc.property(committee, fc.boolean(), fc.nat(), ({ n, k, a, seed }, tamperProof, which) => {
      const rng = seededRng(`tamper-${seed}`);
      const keys = deal('derivation', makeIdentifiers(n, `t${seed}`), k, rng);
      const chosen = pick(keys, a, k).map((key) => evaluatePartial(key, cid, 0, rng));
      const victim = which % chosen.length;
      const t: Partial = { ...chosen[victim]!, point: Uint8Array.from(chosen[victim]!.point), proof: Uint8Array.from(chosen[victim]!.proof) };
      if (tamperProof) t.proof[which % 64]! ^= 1 << (which % 8);
      else t.point = Uint8Array.from(chosen[(victim + 1) % chosen.length]!.point); // another member's valid point
      chosen[victim] = t;
      let err: unknown;
      try { combinePartials(chosen, keys[0]!.verifyingShares, k, cid, 0); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(BadPartialError);
      expect((err as BadPartialError).culprits).toEqual([t.identifier]);
    }), RUNS);
  });

  it('after resharing to a different (n\', k\') contract keys and the BIP340 group key are unchanged', () => {
    fc.assert(fc.property(committee, committee, ({ n, k, a, seed }, next) => {
      const rng = seededRng(`rs-${seed}`);
      const oldIds = makeIdentifiers(n, `o${seed}`);
      const d = deal('derivation', oldIds, k, rng);
      const z = deal('signing', oldIds, k, rng);
      const newIds = makeIdentifiers(next.n, `n${seed}`);
      const dNew = handOff(pick(d, a, k), newIds, next.k, rng);
      const zNew = handOff(pick(z, a, k), newIds, next.k, rng);
      const before = deriveContractKey(combinePartials(pick(d, a, k).map((x) => evaluatePartial(x, cid, 1, rng)), d[0]!.verifyingShares, k, cid, 1).Y, cid, 1);
      const after = deriveContractKey(combinePartials(pick(dNew, next.b, next.k).map((x) => evaluatePartial(x, cid, 1, rng)), dNew[0]!.verifyingShares, next.k, cid, 1).Y, cid, 1);
      expect(after).toEqual(before);
      expect(zNew[0]!.groupPublicKey).toEqual(z[0]!.groupPublicKey);
      const msg = utf8(`cert ${seed}`);
      expect(schnorr.verify(sign(pick(zNew, next.b, next.k), zNew[0]!, msg, rng), msg, z[0]!.groupPublicKey)).toBe(true);
    }), { ...RUNS, numRuns: 4 });
  });
});

describe('FROST signing (properties)', () => {
  it('any k signers produce a valid BIP340 signature; k-1 cannot', () => {
    fc.assert(fc.property(committee, ({ n, k, a, b, seed }) => {
      const rng = seededRng(`sig-${seed}`);
      const keys = deal('signing', makeIdentifiers(n, `s${seed}`), k, rng);
      const msg = utf8(`message ${seed}`);
      expect(schnorr.verify(sign(pick(keys, a, k), keys[0]!, msg, rng), msg, keys[0]!.groupPublicKey)).toBe(true);
      expect(schnorr.verify(sign(pick(keys, b, k), keys[0]!, msg, rng), msg, keys[0]!.groupPublicKey)).toBe(true);
      const few = pick(keys, a, k - 1);
      // honest API: refused outright
      expect(() => sign(few, keys[0]!, msg, rng)).toThrow();
      // even with the threshold forged down to k-1 (when FROST allows it), nothing valid comes out
      if (k - 1 >= 2) {
        const forged = few.map((x) => ({ ...x, threshold: k - 1, commitments: x.commitments.slice(0, k - 1) }));
        expect(() => sign(forged, forged[0]!, msg, rng)).toThrow(SignatureAggregationError);
      }
    }), { ...RUNS, numRuns: 6 });
  });
});
