// The DKG's rounds 2 and 3 check proofs and shares in batches on noble's points (src/crypto/vss.ts)
// instead of calling noble's DKG.round2/round3. They must give exactly noble's outputs, refuse what
// noble refuses, and a batch must not let errors that cancel in a plain sum through.
import { schnorr_FROST, secp256k1, secp256k1_FROST } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  decodeDkgState, DkgBlameError, dkgRound1, dkgRound2, dkgRound3, encodeDkgState, FrostError,
  type DkgRound1Package, type DkgRound2Package, type DkgState, type Suite,
} from '../../src/crypto/frost.js';
import { makeIdentifiers, seededRng } from './helpers.js';

const Fn = secp256k1.Point.Fn;
const noble = { derivation: secp256k1_FROST, signing: schnorr_FROST } as const;
const clone = (st: DkgState) => decodeDkgState(JSON.parse(JSON.stringify(encodeDkgState(st))));
const hexAll = (xs: Uint8Array[]) => xs.map((x) => bytesToHex(x));

function roundOne(suite: Suite, ids: string[], k: number, seed: string) {
  const rng = seededRng(seed);
  const r1 = ids.map((id) => dkgRound1(suite, id, { threshold: k, participants: ids.length }, rng));
  const others = (i: number): DkgRound1Package[] => r1.filter((_, j) => j !== i).map((r) => r.round1);
  return { r1, others };
}

const nobleRound1 = (p: DkgRound1Package) => ({ identifier: p.identifier, commitment: p.commitment.map((c) => Uint8Array.from(c)), proofOfKnowledge: Uint8Array.from(p.proofOfKnowledge) });

describe('batched DKG rounds give exactly noble\'s results', () => {
  const cases: [Suite, number, number, 'roster' | 'hashed'][] = [
    ['derivation', 4, 3, 'roster'], ['signing', 4, 3, 'roster'], ['derivation', 7, 5, 'hashed'],
    ['signing', 7, 5, 'hashed'], ['signing', 16, 11, 'roster'], ['derivation', 5, 2, 'hashed'],
  ];
  it.each(cases)('%s, n = %i, k = %i, %s identifiers', (suite, n, k, style) => {
    // Two seeded committees for the small cases; one for n >= 7, where noble's unbatched reference
    // (every member checking every proof and share one by one) is most of the suite's crypto time.
    const committees = n >= 7 ? 1 : 2;
    for (let round = 0; round < committees; round++) {
      const ids = style === 'roster' ? makeIdentifiers(n) : makeIdentifiers(n, `eq-${suite}-${n}-${round}`);
      const { r1, others } = roundOne(suite, ids, k, `eq-${suite}-${n}-${k}-${style}-${round}`);
      const before = r1.map((r) => clone(r.state));
      const outbox: DkgRound2Package[] = [];
      r1.forEach((r, i) => {
        const nobleState = clone(r.state);
        const mine = dkgRound2(r.state, others(i));
        const theirs = noble[suite].DKG.round2(nobleState.inner, others(i).map(nobleRound1));
        expect(mine.map((m) => [m.recipient, bytesToHex(m.signingShare)]))
          .toEqual(Object.keys(theirs).sort().map((to) => [to, bytesToHex(theirs[to]!.signingShare)]));
        // the persisted state after round 2 is the same as noble's
        expect(encodeDkgState(r.state)).toEqual(encodeDkgState(nobleState));
        outbox.push(...mine);
      });
      r1.forEach((r, i) => {
        const toMe = outbox.filter((m) => m.recipient === ids[i]);
        const nobleState = clone(r.state);
        const key = dkgRound3(r.state, others(i), toMe);
        const ref = noble[suite].DKG.round3(nobleState.inner, others(i).map(nobleRound1),
          toMe.map((m) => ({ identifier: m.sender, signingShare: Uint8Array.from(m.signingShare) })));
        expect(bytesToHex(key.signingShare)).toBe(bytesToHex(ref.secret.signingShare));
        expect(key.identifier).toBe(ref.secret.identifier);
        expect(hexAll(key.commitments)).toEqual(hexAll(ref.public.commitments));
        expect(Object.keys(key.verifyingShares)).toEqual(Object.keys(ref.public.verifyingShares).sort());
        for (const [id, v] of Object.entries(ref.public.verifyingShares)) expect(bytesToHex(key.verifyingShares[id]!)).toBe(bytesToHex(v));
        // round 3 wipes the polynomial, as noble does
        expect(encodeDkgState(r.state)).toEqual(encodeDkgState(nobleState));
        expect(encodeDkgState(r.state).coefficients).toBeNull();
      });
      // a state restored from before round 2 still runs both rounds to the same result
      const again = dkgRound2(before[0]!, others(0));
      expect(again.map((m) => bytesToHex(m.signingShare))).toEqual(outbox.filter((m) => m.sender === ids[0]).map((m) => bytesToHex(m.signingShare)));
    }
  });
});

describe('batched checks refuse and blame', () => {
  const ids = makeIdentifiers(5);

  it('shares whose errors cancel in a plain sum are still refused, and both senders are named', () => {
    const { r1, others } = roundOne('derivation', ids, 3, 'cancel');
    const outbox = r1.flatMap((r, i) => dkgRound2(r.state, others(i)));
    const toMe = outbox.filter((m) => m.recipient === ids[0]);
    const delta = 12345n;
    const shift = (m: DkgRound2Package, d: bigint) => ({ ...m, signingShare: Fn.toBytes(Fn.add(Fn.fromBytes(m.signingShare), d)) });
    const tampered = toMe.map((m) => m.sender === ids[1] ? shift(m, delta) : m.sender === ids[3] ? shift(m, Fn.neg(delta)) : m);
    const err = (() => { try { dkgRound3(r1[0]!.state, others(0), tampered); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(DkgBlameError);
    expect((err as DkgBlameError).culprits.sort()).toEqual([ids[1], ids[3]].sort());
  });

  it('several bad proofs of knowledge are all named', () => {
    const { r1, others } = roundOne('signing', ids, 3, 'two-bad-pok');
    const flip = (p: DkgRound1Package) => { const q = { ...p, proofOfKnowledge: Uint8Array.from(p.proofOfKnowledge) }; q.proofOfKnowledge[63]! ^= 1; return q; };
    const list = others(0).map((p) => (p.identifier === ids[2] || p.identifier === ids[4] ? flip(p) : p));
    const err = (() => { try { dkgRound2(r1[0]!.state, list); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(DkgBlameError);
    expect((err as DkgBlameError).culprits).toEqual([ids[2], ids[4]]);
  });

  it('a proof of knowledge copied from another member is refused (it binds the identifier)', () => {
    const { r1, others } = roundOne('derivation', ids, 3, 'copied-pok');
    const list = others(0).map((p) => (p.identifier === ids[1] ? { ...r1[2]!.round1, identifier: ids[1]! } : p));
    const err = (() => { try { dkgRound2(r1[0]!.state, list); } catch (e) { return e; } })();
    expect((err as DkgBlameError).culprits).toEqual([ids[1]]);
  });

  it('round 3 refuses round-1 packages other than those round 2 checked, and a repeated round 3', () => {
    const { r1, others } = roundOne('derivation', ids, 3, 'transcript');
    const outbox = r1.flatMap((r, i) => dkgRound2(r.state, others(i)));
    const toMe = outbox.filter((m) => m.recipient === ids[0]);
    const swapped = others(0).map((p) => (p.identifier === ids[1] ? { ...p, commitment: [...p.commitment].reverse() } : p));
    expect(() => dkgRound3(clone(r1[0]!.state), swapped, toMe)).toThrow(/differ from those round 2 checked/);
    const state = r1[0]!.state;
    dkgRound3(state, others(0), toMe);
    expect(() => dkgRound3(state, others(0), toMe)).toThrow(FrostError);
    expect(() => dkgRound2(state, others(0))).toThrow(/finished round 3/);
  });

  it('round 2 run again with different packages is refused', () => {
    const { r1, others } = roundOne('signing', ids, 3, 'round2-twice');
    dkgRound2(r1[0]!.state, others(0));
    const other = roundOne('signing', ids, 3, 'round2-twice-b').others(0);
    expect(() => dkgRound2(r1[0]!.state, other)).toThrow(/already ran with other round-1 packages/);
  });
});
