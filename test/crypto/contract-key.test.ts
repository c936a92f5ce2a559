import { secp256k1, secp256k1_FROST, secp256k1_hasher } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  BadPartialError, combineGoodPartials, combinePartials, combineVerifiedPartials, CONTRACT_DST, ContractKeyError, contractPoint,
  deriveContractKey, evaluatePartial, encodePartial, decodePartial, NotEnoughPartialsError, verifyPartial, type Partial,
} from '../../src/crypto/contract-key.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { makeIdentifiers, runDkg, seededRng } from './helpers.js';

const G = secp256k1.Point.BASE;
const cid = utf8('contract-42');
const ids = makeIdentifiers(5, 'ck');
const keys = runDkg('derivation', ids, 3, seededRng('contract-key'));
const vs = keys[0]!.verifyingShares;
const rng = seededRng('partials');
const partials = keys.map((k) => evaluatePartial(k, cid, 1, rng));
const byId = (id: string) => partials.find((p) => p.identifier === id)!;
const catchErr = (f: () => unknown) => { try { f(); } catch (e) { return e; } throw new Error('expected a throw'); };

describe('contractPoint', () => {
  it('hashes lp(cid) || u32be(v) to the curve under the contract DST', () => {
    const h = contractPoint(utf8('abc'), 1);
    expect(h.length).toBe(33);
    const msg = hexToBytes('0003616263' + '00000001');
    expect(h).toEqual(secp256k1_hasher.hashToCurve(msg, { DST: CONTRACT_DST }).toBytes(true));
    expect(contractPoint(utf8('abc'), 2)).not.toEqual(h);
    expect(contractPoint(utf8('abd'), 1)).not.toEqual(h);
  });
  it('refuses empty cid and versions outside u32', () => {
    expect(() => contractPoint(new Uint8Array(), 1)).toThrow(ContractKeyError);
    expect(() => contractPoint(cid, -1)).toThrow(ContractKeyError);
    expect(() => contractPoint(cid, 2 ** 32)).toThrow(ContractKeyError);
    expect(() => contractPoint(cid, 1.5)).toThrow(ContractKeyError);
  });
});

describe('partials and combination', () => {
  it('every honest partial verifies against its member verifying share, and is s_i·h', () => {
    const h = secp256k1.Point.fromBytes(contractPoint(cid, 1));
    for (const k of keys) {
      const p = byId(k.identifier);
      expect(verifyPartial(p, vs[k.identifier]!, cid, 1)).toBe(true);
      expect(p.point).toEqual(h.multiply(BigInt('0x' + bytesToHex(k.signingShare))).toBytes(true));
      expect(p.proof.length).toBe(64);
    }
  });

  it('any 3 partials combine to Y = s·h and derive the same key pair', () => {
    const s = secp256k1_FROST.combineSecret(keys.slice(0, 3).map((k) => ({ identifier: k.identifier, signingShare: k.signingShare })), { min: 3, max: 5 });
    const expectedY = secp256k1.Point.fromBytes(contractPoint(cid, 1)).multiply(BigInt('0x' + bytesToHex(s))).toBytes(true);
    const { Y } = combinePartials([byId(ids[4]!), byId(ids[0]!), byId(ids[2]!)], vs, 3, cid, 1);
    expect(Y).toEqual(expectedY);
    expect(combinePartials(partials, vs, 3, cid, 1).Y).toEqual(expectedY);
    const kp = deriveContractKey(Y, cid, 1);
    expect(kp.secretKey.length).toBe(32);
    expect(kp.publicKey).toEqual(G.multiply(BigInt('0x' + bytesToHex(kp.secretKey))).toBytes(true));
  });

  it('proofs are hedged: fresh randomness gives a new proof for the same point, both valid', () => {
    const again = evaluatePartial(keys[0]!, cid, 1, seededRng('other'));
    expect(again.point).toEqual(partials[0]!.point);
    expect(again.proof).not.toEqual(partials[0]!.proof);
    expect(verifyPartial(again, vs[ids[0]!]!, cid, 1)).toBe(true);
  });

  it('a proof for another cid or version does not verify', () => {
    expect(verifyPartial(partials[0]!, vs[ids[0]!]!, utf8('contract-43'), 1)).toBe(false);
    expect(verifyPartial(partials[0]!, vs[ids[0]!]!, cid, 2)).toBe(false);
    const forOtherCid = evaluatePartial(keys[1]!, utf8('contract-43'), 1, rng);
    const err = catchErr(() => combinePartials([partials[0]!, forOtherCid, partials[2]!], vs, 3, cid, 1));
    expect(err).toBeInstanceOf(BadPartialError);
    expect((err as BadPartialError).culprits).toEqual([ids[1]]);
  });

  it('a partial claimed by another member is blamed on the claimed member', () => {
    const stolen: Partial = { ...partials[1]!, identifier: ids[3]! };
    expect(verifyPartial(stolen, vs[ids[3]!]!, cid, 1)).toBe(false);
    const err = catchErr(() => combinePartials([partials[0]!, partials[2]!, stolen], vs, 3, cid, 1));
    expect((err as BadPartialError).culprits).toEqual([ids[3]]);
  });

  it('a wrong point with a replayed proof, or a flipped proof bit, is refused and blamed', () => {
    const wrongPoint: Partial = { ...partials[1]!, point: G.multiply(5n).toBytes(true) };
    const flipped: Partial = { ...partials[2]!, proof: Uint8Array.from(partials[2]!.proof) };
    flipped.proof[10]! ^= 0x80;
    const err = catchErr(() => combinePartials([partials[0]!, wrongPoint, flipped, partials[3]!], vs, 3, cid, 1)) as BadPartialError;
    expect(err).toBeInstanceOf(BadPartialError);
    expect(err.culprits.sort()).toEqual([ids[1]!, ids[2]!].sort());
    expect(err.faults.every((f) => f.fault === 'invalid-proof')).toBe(true);
  });

  it('identity and off-curve points are refused as invalid points', () => {
    const identity: Partial = { ...partials[1]!, point: new Uint8Array(33) };
    const offCurve: Partial = { ...partials[2]!, point: hexToBytes('02' + '00'.repeat(31) + '05') };
    const err = catchErr(() => combinePartials([partials[0]!, identity, offCurve], vs, 3, cid, 1)) as BadPartialError;
    expect(err.faults).toEqual([{ identifier: ids[1], fault: 'invalid-point' }, { identifier: ids[2], fault: 'invalid-point' }]);
  });

  it('duplicates, unknown members and fewer than k partials are refused', () => {
    let err = catchErr(() => combinePartials([partials[0]!, partials[1]!, partials[0]!], vs, 3, cid, 1)) as BadPartialError;
    expect(err.faults).toEqual([{ identifier: ids[0], fault: 'duplicate' }]);
    const outsider = makeIdentifiers(1, 'outsider')[0]!;
    err = catchErr(() => combinePartials([partials[0]!, partials[1]!, { ...partials[2]!, identifier: outsider }], vs, 3, cid, 1)) as BadPartialError;
    expect(err.faults).toEqual([{ identifier: outsider, fault: 'unknown-member' }]);
    expect(catchErr(() => combinePartials(partials.slice(0, 2), vs, 3, cid, 1))).toBeInstanceOf(NotEnoughPartialsError);
    expect(() => combinePartials(partials, vs, 1, cid, 1)).toThrow(ContractKeyError);
  });

  it('the worker helper drops bad partials, reports them, and combines k good ones', () => {
    const honest = combinePartials(partials.slice(0, 3), vs, 3, cid, 1).Y;
    const bad: Partial = { ...partials[0]!, point: G.multiply(7n).toBytes(true) };
    const res = combineGoodPartials([bad, ...partials.slice(1)], vs, 3, cid, 1);
    expect(res.Y).toEqual(honest);
    expect(res.used.length).toBe(3);
    expect(res.used).not.toContain(ids[0]);
    expect(res.faults).toEqual([{ identifier: ids[0], fault: 'invalid-proof' }]);
    const err = catchErr(() => combineGoodPartials([bad, { ...partials[1]!, proof: new Uint8Array(64) }, partials[2]!, partials[3]!], vs, 3, cid, 1));
    expect(err).toBeInstanceOf(NotEnoughPartialsError);
    expect((err as NotEnoughPartialsError).faults.map((f) => f.identifier)).toEqual([ids[0], ids[1]]);
  });

  it('combining already verified partials takes the first k by identifier and refuses duplicates and too few', () => {
    const honest = combinePartials(partials.slice(0, 3), vs, 3, cid, 1).Y;
    const reversed = [...partials].reverse();
    const res = combineVerifiedPartials(reversed, 3);
    expect(res.used).toEqual([...ids].sort().slice(0, 3));
    expect(res.Y).toEqual(combinePartials(res.used.map(byId), vs, 3, cid, 1).Y);
    expect(combineVerifiedPartials(partials.slice(0, 3), 3).Y).toEqual(honest);
    expect(catchErr(() => combineVerifiedPartials([partials[0]!, partials[0]!, partials[1]!], 3))).toBeInstanceOf(BadPartialError);
    expect(catchErr(() => combineVerifiedPartials(partials.slice(0, 2), 3))).toBeInstanceOf(NotEnoughPartialsError);
  });
});

describe('partial JSON', () => {
  it('round-trips and refuses malformed points', () => {
    const json = JSON.parse(JSON.stringify(encodePartial(partials[0]!)));
    expect(decodePartial(json)).toEqual(partials[0]);
    expect(() => decodePartial({ ...json, point: '02' + '00'.repeat(31) + '05' })).toThrow();
    expect(() => decodePartial({ ...json, proof: json.proof.slice(2) })).toThrow(ContractKeyError);
  });
});

describe('deriveContractKey', () => {
  const Y = combinePartials(partials, vs, 3, cid, 1).Y;

  it('is deterministic and separates cids and versions (no linear structure)', () => {
    const a = deriveContractKey(Y, cid, 1);
    expect(deriveContractKey(Y, cid, 1)).toEqual(a);
    const other = combinePartials(keys.map((k) => evaluatePartial(k, utf8('contract-43'), 1, rng)), vs, 3, utf8('contract-43'), 1).Y;
    const b = deriveContractKey(other, utf8('contract-43'), 1);
    const v2 = combinePartials(keys.map((k) => evaluatePartial(k, cid, 2, rng)), vs, 3, cid, 2).Y;
    const c = deriveContractKey(v2, cid, 2);
    expect(new Set([a, b, c].map((x) => bytesToHex(x.publicKey))).size).toBe(3);
    // Y alone is bound to (cid, v): the same Y under another label gives another key
    expect(deriveContractKey(Y, cid, 2).publicKey).not.toEqual(a.publicKey);
    // the released key is a hash of Y, never the linear value s·h itself
    expect(a.publicKey).not.toEqual(Y);
  });

  it('refuses an identity or malformed Y', () => {
    expect(() => deriveContractKey(new Uint8Array(33), cid, 1)).toThrow();
    expect(() => deriveContractKey(Y.subarray(1), cid, 1)).toThrow();
  });
});
