import { schnorr, secp256k1, secp256k1_FROST } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  BadDealingError, combineReshare, dealReshare, GroupKeyMismatchError, ReshareBlameError, ReshareError,
  reshareCommittedPublic, verifyDealing, type Dealing, encodeReshareCommitment, decodeReshareCommitment,
  encodeReshareSubShare, decodeReshareSubShare, reshareGroupFromVerifyingShares, reshareCommittedPublicForGroup,
  verifySubSharesBatched, combineCheckedSubShares,
} from '../../src/crypto/reshare.js';
import {
  aggregateSignature, encodePublicKeyPackage, publicPackage, signingCommit, signShare,
  type Identifier, type KeyPackage, type Suite,
} from '../../src/crypto/frost.js';
import { combinePartials, deriveContractKey, evaluatePartial } from '../../src/crypto/contract-key.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { makeIdentifiers, runDkg, seededRng } from './helpers.js';
import type { Rng } from '../../src/crypto/frost.js';

/** Hands the old committee's key to a new one (dealers = the given old members). */
function handOff(dealers: KeyPackage[], newIds: Identifier[], kNew: number, rng: Rng): KeyPackage[] {
  const dealings = dealers.map((k) => dealReshare(k, newIds, kNew, rng));
  return newIds.map((id) => combineReshare(publicPackage(dealers[0]!), newIds, kNew, id, dealings.map((d) => ({
    commitment: d.commitment, subShare: d.subShares.find((s) => s.recipient === id)!,
  }))));
}

function secretOf(keys: KeyPackage[], k: number): string {
  return bytesToHex(secp256k1_FROST.combineSecret(keys.slice(0, k).map((x) => ({ identifier: x.identifier, signingShare: x.signingShare })), { min: k, max: keys.length }));
}

function thresholdSign(keys: KeyPackage[], msg: Uint8Array, rng: Rng): Uint8Array {
  const rounds = keys.map((k) => signingCommit(k, rng));
  const commitments = rounds.map((r) => r.commitments);
  const shares = keys.map((k, i) => signShare(k, rounds[i]!.nonces, commitments, msg));
  return aggregateSignature(publicPackage(keys[0]!), commitments, msg, shares);
}

const oldIds = makeIdentifiers(5, 'old');

describe.each(['derivation', 'signing'] as Suite[])('%s suite', (suite) => {
  const rng = seededRng(`reshare-${suite}`);
  const old = runDkg(suite, oldIds, 3, rng);

  it('grows 3-of-5 to 4-of-7 with new members: same group key, same secret, consistent packages', () => {
    const newIds = [...oldIds.slice(1), ...makeIdentifiers(3, `new-${suite}`)];
    const fresh = handOff([old[4]!, old[0]!, old[2]!], newIds, 4, rng);
    const pub = encodePublicKeyPackage(fresh[0]!);
    for (const k of fresh) expect(encodePublicKeyPackage(k)).toEqual(pub);
    expect(fresh[0]!.groupPublicKey).toEqual(old[0]!.groupPublicKey);
    expect(fresh[0]!.threshold).toBe(4);
    expect(fresh[0]!.participants).toBe(7);
    expect(secretOf(fresh.slice(3), 4)).toBe(secretOf(old, 3));
    // a member present in both committees got a new share
    expect(fresh[0]!.signingShare).not.toEqual(old[1]!.signingShare);
  });

  it('shrinks 3-of-5 to 2-of-3 with entirely new members', () => {
    const newIds = makeIdentifiers(3, `shrink-${suite}`);
    const fresh = handOff(old.slice(1, 4), newIds, 2, rng);
    expect(fresh[2]!.groupPublicKey).toEqual(old[0]!.groupPublicKey);
    expect(secretOf(fresh.slice(1), 2)).toBe(secretOf(old, 3));
  });

  it('names a dealer whose sub-share does not match its commitments', () => {
    const newIds = makeIdentifiers(4, `bad-${suite}`);
    const dealings: Dealing[] = old.slice(0, 3).map((k) => dealReshare(k, newIds, 3, rng));
    const target = newIds[1]!;
    const inputs = dealings.map((d) => ({ commitment: d.commitment, subShare: { ...d.subShares.find((s) => s.recipient === target)! } }));
    inputs[2]!.subShare.subShare = Uint8Array.from(inputs[0]!.subShare.subShare);
    expect(() => verifyDealing(inputs[2]!.commitment, old[2]!.verifyingShares[old[2]!.identifier]!, target, inputs[2]!.subShare.subShare))
      .toThrow(BadDealingError);
    const err = (() => { try { combineReshare(publicPackage(old[0]!), newIds, 3, target, inputs); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(ReshareBlameError);
    expect((err as ReshareBlameError).culprits).toEqual([old[2]!.identifier]);
  });

  it('names a dealer that deals something other than its share (D_i0 != S_i)', () => {
    const newIds = makeIdentifiers(3, `wrong-${suite}`);
    const liar = { ...old[1]!, signingShare: old[3]!.signingShare }; // deals member 3's share as member 1
    const dealings = [dealReshare(old[0]!, newIds, 2, rng), dealReshare(liar, newIds, 2, rng), dealReshare(old[2]!, newIds, 2, rng)];
    let e: unknown;
    try { verifyDealing(dealings[1]!.commitment, old[1]!.verifyingShares[old[1]!.identifier]!, newIds[0]!, dealings[1]!.subShares[0]!.subShare); } catch (x) { e = x; }
    expect((e as BadDealingError).reason).toBe('commitment-mismatch');
    expect(() => reshareCommittedPublic(publicPackage(old[0]!), newIds, 2, dealings.map((d) => d.commitment))).toThrow(ReshareBlameError);
  });

  it('dealings survive JSON and refuse malformed fields', () => {
    const newIds = makeIdentifiers(3, `json-${suite}`);
    const d = dealReshare(old[0]!, newIds, 2, rng);
    const c = JSON.parse(JSON.stringify(encodeReshareCommitment(d.commitment)));
    expect(decodeReshareCommitment(c)).toEqual(d.commitment);
    const s = JSON.parse(JSON.stringify(encodeReshareSubShare(d.subShares[0]!)));
    expect(decodeReshareSubShare(s)).toEqual(d.subShares[0]);
    expect(() => decodeReshareCommitment({ ...c, commitments: [c.commitments[0], '02' + 'ff'.repeat(32)] })).toThrow();
    expect(() => decodeReshareSubShare({ ...s, subShare: 'ff'.repeat(32) })).toThrow();
  });

  it('refuses too few or duplicate dealers and bad new-group parameters', () => {
    const newIds = makeIdentifiers(3, `few-${suite}`);
    const d = old.slice(0, 3).map((k) => dealReshare(k, newIds, 2, rng));
    expect(() => reshareCommittedPublic(publicPackage(old[0]!), newIds, 2, d.slice(0, 2).map((x) => x.commitment))).toThrow(ReshareError);
    expect(() => reshareCommittedPublic(publicPackage(old[0]!), newIds, 2, [d[0]!, d[0]!, d[1]!].map((x) => x.commitment))).toThrow(/duplicate/);
    expect(() => dealReshare(old[0]!, newIds, 4)).toThrow(ReshareError);
    expect(() => dealReshare(old[0]!, [newIds[0]!, newIds[0]!], 2)).toThrow(ReshareError);
  });

  it('fails the hand-off if the result would not give back the group key', () => {
    const other = runDkg(suite, oldIds, 3, seededRng(`other-${suite}`));
    const mixed = { ...publicPackage(old[0]!), commitments: other[0]!.commitments, groupPublicKey: other[0]!.groupPublicKey };
    const newIds = makeIdentifiers(3, `mix-${suite}`);
    const d = old.slice(0, 3).map((k) => dealReshare(k, newIds, 2, rng));
    expect(() => reshareCommittedPublic(mixed, newIds, 2, d.map((x) => x.commitment))).toThrow(GroupKeyMismatchError);
  });
});

describe('after a hand-off', () => {
  it('contract keys are unchanged', () => {
    const rng = seededRng('ck-reshare');
    const old = runDkg('derivation', oldIds, 3, rng);
    const newIds = makeIdentifiers(4, 'ck-new');
    const fresh = handOff(old.slice(2), newIds, 3, rng);
    const cid = utf8('contract-7');
    const before = combinePartials(old.slice(0, 3).map((k) => evaluatePartial(k, cid, 1, rng)), old[0]!.verifyingShares, 3, cid, 1).Y;
    const after = combinePartials(fresh.slice(1).map((k) => evaluatePartial(k, cid, 1, rng)), fresh[0]!.verifyingShares, 3, cid, 1).Y;
    expect(deriveContractKey(after, cid, 1)).toEqual(deriveContractKey(before, cid, 1));
  });

  it('signing keys with odd-Y and even-Y group points still sign under the unchanged CPK', () => {
    const seen = new Set<number>();
    for (let seed = 0; seen.size < 2 && seed < 20; seed++) {
      const rng = seededRng(`parity-${seed}`);
      const old = runDkg('signing', oldIds.slice(0, 3), 2, rng);
      const parity = old[0]!.commitments[0]![0]!;
      if (seen.has(parity)) continue;
      seen.add(parity);
      const fresh = handOff(old.slice(0, 2), makeIdentifiers(4, `par-${seed}`), 3, rng);
      const msg = utf8(`roster after hand-off ${seed}`);
      const sig = thresholdSign(fresh.slice(0, 3), msg, rng);
      expect(schnorr.verify(sig, msg, old[0]!.groupPublicKey)).toBe(true);
      expect(fresh[0]!.commitments[0]).toEqual(old[0]!.commitments[0]);
    }
    expect([...seen].sort()).toEqual([2, 3]);
  });
});

describe('resharing from a roster (verifying shares only) and batched sub-share checks', () => {
  it('recovers the group element of either parity from the verifying shares, and refuses a wrong published key', () => {
    const seen = new Set<number>();
    for (let seed = 0; seen.size < 2 && seed < 20; seed++) {
      const old = runDkg('signing', oldIds.slice(0, 4), 3, seededRng(`roster-parity-${seed}`));
      const pub = publicPackage(old[0]!);
      seen.add(pub.commitments[0]![0]!);
      const g = reshareGroupFromVerifyingShares('signing', 3, pub.verifyingShares, pub.groupPublicKey);
      expect(bytesToHex(g.groupElement)).toBe(bytesToHex(pub.commitments[0]!));
      const other = runDkg('signing', oldIds.slice(0, 4), 3, seededRng(`roster-other-${seed}`));
      expect(() => reshareGroupFromVerifyingShares('signing', 3, pub.verifyingShares, other[0]!.groupPublicKey)).toThrow(GroupKeyMismatchError);
    }
    expect(seen.size).toBe(2);
    const d = runDkg('derivation', oldIds.slice(0, 4), 3, seededRng('roster-mpk'));
    const g = reshareGroupFromVerifyingShares('derivation', 3, d[0]!.verifyingShares, d[0]!.groupPublicKey);
    const newIds = makeIdentifiers(5, 'roster-new');
    const dealings = d.slice(1).map((k) => dealReshare(k, newIds, 4, seededRng('roster-deal')));
    expect(encodePublicKeyPackage(reshareCommittedPublicForGroup(g, newIds, 4, dealings.map((x) => x.commitment))))
      .toEqual(encodePublicKeyPackage(reshareCommittedPublic(publicPackage(d[0]!), newIds, 4, dealings.map((x) => x.commitment))));
  });

  it('checks many sub-shares in one batch and names only the bad ones when it fails', () => {
    const old = runDkg('derivation', oldIds, 3, seededRng('batch'));
    const newIds = makeIdentifiers(4, 'batch-new');
    const dealings = old.map((k) => dealReshare(k, newIds, 3, seededRng('batch-deal')));
    const me = newIds[2]!;
    const items = dealings.map((d) => ({ commitment: d.commitment, subShare: d.subShares.find((s) => s.recipient === me)!.subShare }));
    expect(verifySubSharesBatched(me, items)).toEqual([]);
    items[1] = { ...items[1]!, subShare: items[0]!.subShare };
    items[3] = { ...items[3]!, subShare: new Uint8Array(32) }; // not a scalar
    expect(verifySubSharesBatched(me, items)).toEqual([1, 3]);
    const pub = reshareCommittedPublic(publicPackage(old[0]!), newIds, 3, dealings.slice(0, 3).map((d) => d.commitment));
    const subs = dealings.slice(0, 3).map((d) => ({ dealer: d.commitment.dealer, subShare: d.subShares.find((s) => s.recipient === me)!.subShare }));
    expect(combineCheckedSubShares(pub, me, subs).verifyingShares[me]).toEqual(pub.verifyingShares[me]);
    subs[0] = { ...subs[0]!, subShare: subs[1]!.subShare };
    expect(() => combineCheckedSubShares(pub, me, subs)).toThrow(/does not match its verifying share/);
  });
});
