import { schnorr, secp256k1, secp256k1_FROST } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  aggregateSignature, decodePoint, decodeDkgRound1, decodeDkgRound2, decodeKeyPackage, decodePublicKeyPackage,
  decodeSignatureShare, decodeSigningCommitments, decodeSigningNonces, DkgBlameError, dkgRound1, dkgRound2,
  dkgRound3, encodeDkgRound1, encodeDkgState, decodeDkgState, encodeDkgRound2, encodeKeyPackage, encodePublicKeyPackage, encodeSignatureShare,
  encodeSigningCommitments, encodeSigningNonces, FrostError, identifierForPosition, publicPackage, SignatureAggregationError,
  signingCommit, signShare, verifyDkgRound1, verifyGroupSignature, verifySignatureShare,
  type DkgRound2Package, type KeyPackage, type SigningCommitments,
} from '../../src/crypto/frost.js';
import { concatBytes, utf8 } from '../../src/crypto/bytes.js';
import { makeIdentifiers, runDkg, seededRng } from './helpers.js';

const G = secp256k1.Point.BASE;

function sign(keys: KeyPackage[], msg: Uint8Array, rng = seededRng('sign')) {
  const rounds = keys.map((k) => signingCommit(k, rng));
  const commitments = rounds.map((r) => r.commitments);
  const shares = keys.map((k, i) => signShare(k, rounds[i]!.nonces, commitments, msg));
  return { commitments, shares, rounds };
}

describe('identifierForPosition', () => {
  it('numbers roster members 1..n as RFC 9591 does', () => {
    expect(identifierForPosition(0)).toBe('00'.repeat(31) + '01');
    expect(identifierForPosition(15)).toBe('00'.repeat(31) + '10');
    expect(identifierForPosition(0)).toBe(secp256k1_FROST.Identifier.fromNumber(1));
  });
  it('refuses negative, fractional or too large positions', () => {
    for (const bad of [-1, 0.5, 0xffff, Number.NaN]) expect(() => identifierForPosition(bad)).toThrow(FrostError);
  });
});

describe('DKG', () => {
  const ids = makeIdentifiers(5);

  it.each(['derivation', 'signing'] as const)('%s: 3-of-5 members agree and any 3 shares reconstruct the group key', (suite) => {
    const keys = runDkg(suite, ids, 3, seededRng(`dkg-${suite}`));
    const pub0 = encodePublicKeyPackage(keys[0]!);
    for (const k of keys) expect(encodePublicKeyPackage(k)).toEqual(pub0);
    expect(keys[0]!.groupPublicKey.length).toBe(suite === 'signing' ? 32 : 33);
    for (const k of keys) expect(G.multiply(BigInt('0x' + bytesToHex(k.signingShare))).toBytes(true)).toEqual(k.verifyingShares[k.identifier]);
    const secret = secp256k1_FROST.combineSecret(
      [keys[0]!, keys[2]!, keys[4]!].map((k) => ({ identifier: k.identifier, signingShare: k.signingShare })),
      { min: 3, max: 5 },
    );
    const Y = G.multiply(BigInt('0x' + bytesToHex(secret)));
    if (suite === 'derivation') expect(Y.toBytes(true)).toEqual(keys[0]!.groupPublicKey);
    else expect(Y.toBytes(true).slice(1)).toEqual(keys[0]!.groupPublicKey);
  });

  it('blames the sender of a round-1 package with a bad proof of knowledge', () => {
    const rng = seededRng('dkg-bad-pok');
    const r1 = ids.map((id) => dkgRound1('signing', id, { threshold: 3, participants: 5 }, rng));
    for (const r of r1) expect(verifyDkgRound1('signing', r.round1, 3)).toBe(true);
    const forged = { ...r1[1]!.round1, proofOfKnowledge: Uint8Array.from(r1[1]!.round1.proofOfKnowledge) };
    forged.proofOfKnowledge[40]! ^= 1;
    expect(verifyDkgRound1('signing', forged, 3)).toBe(false);
    const others = [forged, ...r1.slice(2).map((r) => r.round1)];
    const err = (() => { try { dkgRound2(r1[0]!.state, others); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(DkgBlameError);
    expect((err as DkgBlameError).culprits).toEqual([ids[1]]);
  });

  it('blames the sender of a round-2 share that does not match its commitment', () => {
    const rng = seededRng('dkg-bad-share');
    const params = { threshold: 2, participants: 3 };
    const r1 = ids.slice(0, 3).map((id) => dkgRound1('derivation', id, params, rng));
    const others = (i: number) => r1.filter((_, j) => j !== i).map((r) => r.round1);
    const outbox: DkgRound2Package[] = r1.flatMap((r, i) => dkgRound2(r.state, others(i)));
    const toMe = outbox.filter((m) => m.recipient === ids[0]);
    const tampered = toMe.map((m) => m.sender === ids[2] ? { ...m, signingShare: Uint8Array.from(m.signingShare).fill(7, 0, 1) } : m);
    const err = (() => { try { dkgRound3(r1[0]!.state, others(0), tampered); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(DkgBlameError);
    expect((err as DkgBlameError).culprits).toEqual([ids[2]]);
  });

  it('refuses duplicate senders, our own package and a wrong count', () => {
    const r1 = ids.slice(0, 3).map((id) => dkgRound1('derivation', id, { threshold: 2, participants: 3 }, seededRng('dup')));
    expect(() => dkgRound2(r1[0]!.state, [r1[1]!.round1, r1[1]!.round1])).toThrow(DkgBlameError);
    expect(() => dkgRound2(r1[0]!.state, [r1[0]!.round1, r1[1]!.round1])).toThrow(FrostError);
    expect(() => dkgRound2(r1[0]!.state, [r1[1]!.round1])).toThrow(FrostError);
  });

  it('a member resumes from a persisted state after round 1 and after round 2', () => {
    const rng = seededRng('resume');
    const params = { threshold: 2, participants: 3 };
    const r1 = ids.slice(0, 3).map((id) => dkgRound1('signing', id, params, rng));
    const others = (i: number) => r1.filter((_, j) => j !== i).map((r) => r.round1);
    const persist = <T>(x: T) => JSON.parse(JSON.stringify(x));
    const states = r1.map((r) => decodeDkgState(persist(encodeDkgState(r.state))));
    const outbox = states.flatMap((st, i) => dkgRound2(st, others(i)));
    const after2 = states.map((st) => decodeDkgState(persist(encodeDkgState(st))));
    // round 2 is idempotent on the restored state: the same messages come out again
    expect(dkgRound2(after2[0]!, others(0))).toEqual(outbox.filter((m) => m.sender === ids[0]));
    const keys = after2.map((st, i) => dkgRound3(st, others(i), outbox.filter((m) => m.recipient === ids[i])));
    expect(encodePublicKeyPackage(keys[1]!)).toEqual(encodePublicKeyPackage(keys[2]!));
    const bad = encodeDkgState(r1[0]!.state);
    expect(() => decodeDkgState({ ...bad, coefficients: [bad.coefficients![1], bad.coefficients![0]] })).toThrow(FrostError);
  });

  it('refuses k < 2 and k > n', () => {
    expect(() => dkgRound1('signing', ids[0]!, { threshold: 1, participants: 3 })).toThrow(FrostError);
    expect(() => dkgRound1('signing', ids[0]!, { threshold: 4, participants: 3 })).toThrow(FrostError);
  });
});

describe('threshold BIP340 signing', () => {
  const ids = makeIdentifiers(5, 'signer');
  const keys = runDkg('signing', ids, 3, seededRng('signing-keys'));
  const msg = utf8('gatekeeper/v1/roster test');

  it('any 3 of 5 produce a signature that stock schnorr.verify accepts under the x-only CPK', () => {
    for (const subset of [[0, 1, 2], [2, 3, 4], [0, 4, 1], [0, 1, 2, 3, 4]]) {
      const signers = subset.map((i) => keys[i]!);
      const { commitments, shares } = sign(signers, msg);
      for (const s of shares) expect(verifySignatureShare(publicPackage(keys[0]!), commitments, msg, s)).toBe(true);
      const sig = aggregateSignature(publicPackage(keys[0]!), commitments, msg, shares);
      expect(sig.length).toBe(64);
      expect(schnorr.verify(sig, msg, keys[0]!.groupPublicKey)).toBe(true);
      expect(verifyGroupSignature(keys[0]!.groupPublicKey, utf8('other message'), sig)).toBe(false);
    }
  });

  it('names a signer whose share is bad', () => {
    const signers = [keys[0]!, keys[1]!, keys[3]!];
    const { commitments, shares } = sign(signers, msg);
    const bad = shares.map((s) => s.identifier === ids[1] ? { ...s, share: Uint8Array.from(shares[0]!.share) } : s);
    expect(verifySignatureShare(keys[0]!, commitments, msg, bad[1]!)).toBe(false);
    const err = (() => { try { aggregateSignature(keys[0]!, commitments, msg, bad); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(SignatureAggregationError);
    expect((err as SignatureAggregationError).culprits).toEqual([ids[1]]);
  });

  it('refuses fewer than k signers', () => {
    const signers = [keys[0]!, keys[1]!];
    const rounds = signers.map((k) => signingCommit(k, seededRng('few')));
    const commitments = rounds.map((r) => r.commitments);
    expect(() => signShare(signers[0]!, rounds[0]!.nonces, commitments, msg)).toThrow(FrostError);
    expect(() => aggregateSignature(keys[0]!, commitments, msg, [])).toThrow(SignatureAggregationError);
  });

  it('refuses to reuse nonces, and nonces of another member', () => {
    const signers = [keys[0]!, keys[1]!, keys[2]!];
    const rounds = signers.map((k) => signingCommit(k, seededRng('reuse')));
    const commitments = rounds.map((r) => r.commitments);
    signShare(signers[0]!, rounds[0]!.nonces, commitments, msg);
    expect(() => signShare(signers[0]!, rounds[0]!.nonces, commitments, msg)).toThrow(FrostError);
    expect(() => signShare(signers[1]!, rounds[2]!.nonces, commitments, msg)).toThrow(FrostError);
  });

  it('refuses a commitment list that lies about our own commitment', () => {
    const signers = [keys[0]!, keys[1]!, keys[2]!];
    const rounds = signers.map((k) => signingCommit(k, seededRng('lie')));
    const commitments: SigningCommitments[] = rounds.map((r) => r.commitments);
    const swapped = [{ ...commitments[0]!, hiding: commitments[1]!.hiding }, commitments[1]!, commitments[2]!];
    expect(() => signShare(signers[0]!, rounds[0]!.nonces, swapped, msg)).toThrow(FrostError);
  });

  it('the derivation secret never signs', () => {
    const dkeys = runDkg('derivation', ids.slice(0, 3), 2, seededRng('dsign'));
    expect(() => signingCommit(dkeys[0]!)).toThrow(/only the signing suite signs/);
  });
});

describe('JSON encoding', () => {
  const ids = makeIdentifiers(3, 'json');
  const rng = seededRng('json');
  const r1 = ids.map((id) => dkgRound1('signing', id, { threshold: 2, participants: 3 }, rng));
  const others = (i: number) => r1.filter((_, j) => j !== i).map((r) => r.round1);
  const outbox = r1.flatMap((r, i) => dkgRound2(r.state, others(i)));
  const keys = r1.map((r, i) => dkgRound3(r.state, others(i), outbox.filter((m) => m.recipient === ids[i])));

  it('round-trips every package through JSON text deterministically', () => {
    const rt = <T, J>(enc: (x: T) => J, dec: (j: unknown) => T, x: T) => {
      const text = JSON.stringify(enc(x));
      const back = dec(JSON.parse(text));
      expect(JSON.stringify(enc(back))).toBe(text);
      return back;
    };
    rt(encodeDkgRound1, decodeDkgRound1, r1[0]!.round1);
    rt(encodeDkgRound2, decodeDkgRound2, outbox[0]!);
    expect(rt(encodeKeyPackage, decodeKeyPackage, keys[1]!)).toEqual(keys[1]);
    rt(encodePublicKeyPackage, decodePublicKeyPackage, publicPackage(keys[1]!));
    const { nonces, commitments } = signingCommit(keys[0]!, rng);
    rt(encodeSigningCommitments, decodeSigningCommitments, commitments);
    rt(encodeSigningNonces, decodeSigningNonces, nonces);
    const c2 = signingCommit(keys[1]!, rng);
    const share = signShare(keys[0]!, nonces, [commitments, c2.commitments], utf8('m'));
    rt(encodeSignatureShare, decodeSignatureShare, share);
  });

  it('refuses points off the curve, identity, wrong lengths and non-canonical identifiers', () => {
    const c = encodeSigningCommitments(signingCommit(keys[0]!, rng).commitments);
    const notOnCurve = '02' + 'ff'.repeat(32); // x >= p is not a field element
    expect(() => decodeSigningCommitments({ ...c, hiding: notOnCurve })).toThrow(FrostError);
    expect(() => decodeSigningCommitments({ ...c, hiding: '02' + '00'.repeat(31) + '05' })).toThrow(FrostError); // x=5: no point
    expect(() => decodeSigningCommitments({ ...c, hiding: '00' })).toThrow(FrostError); // identity / short
    expect(() => decodeSigningCommitments({ ...c, hiding: c.hiding.slice(2) })).toThrow(FrostError);
    expect(() => decodeSigningCommitments({ ...c, identifier: c.identifier.toUpperCase() })).toThrow(FrostError);
    expect(() => decodeSigningCommitments({ ...c, identifier: '00'.repeat(32) })).toThrow(FrostError);
    const k = encodeKeyPackage(keys[0]!);
    expect(() => decodeKeyPackage({ ...k, signingShare: encodeKeyPackage(keys[1]!).signingShare })).toThrow(/does not match/);
    expect(() => decodeKeyPackage({ ...k, groupPublicKey: '00'.repeat(32) })).toThrow(FrostError);
    expect(() => decodePublicKeyPackage({ ...k, threshold: 1 })).toThrow(FrostError);
    expect(() => decodeSignatureShare({ identifier: ids[0], share: 'ff'.repeat(32) })).toThrow(FrostError);
  });
});

// decodePoint decompresses with libsecp256k1; it must accept and refuse exactly what noble does.
describe('decodePoint', () => {
  const nobleAccepts = (b: Uint8Array) => {
    try { const p = secp256k1.Point.fromBytes(b); p.assertValidity(); return !p.is0(); } catch { return false; }
  };
  it('agrees with noble on valid, corrupted and out-of-range encodings', () => {
    const p = secp256k1.Point.CURVE().p;
    const be = (x: bigint) => hexToBytes(x.toString(16).padStart(64, '0'));
    const samples: Uint8Array[] = [
      concatBytes(new Uint8Array([2]), be(p)), concatBytes(new Uint8Array([3]), be(p + 1n - 2n)), concatBytes(new Uint8Array([2]), new Uint8Array(32)),
      concatBytes(new Uint8Array([0]), new Uint8Array(32)), concatBytes(new Uint8Array([4]), be(5n)),
    ];
    const rng = seededRng('decode-point');
    for (let i = 0; i < 200; i++) {
      const good = G.multiply(BigInt('0x' + bytesToHex(rng(31))) + 1n).toBytes(true);
      samples.push(good);
      const bad = Uint8Array.from(good);
      bad[1 + (i % 32)]! ^= 1 << (i % 8);
      samples.push(bad);
      if (i % 20 === 0) samples.push(concatBytes(new Uint8Array([i % 2 ? 2 : 3]), rng(32)));
    }
    let accepted = 0;
    for (const b of samples) {
      const ours = (() => { try { return decodePoint(b).toBytes(true); } catch (e) { expect(e).toBeInstanceOf(FrostError); return null; } })();
      expect([bytesToHex(b), ours !== null]).toEqual([bytesToHex(b), nobleAccepts(b)]);
      if (ours) { accepted++; expect(bytesToHex(ours)).toBe(bytesToHex(b)); }
    }
    expect(accepted).toBeGreaterThan(200);
  });
});
