import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { identifierForPosition } from '../../src/crypto/frost.js';
import { decodeRoster, encodeRoster, defaultThreshold, RosterDecodeError, rosterCertificateMessage, type Roster } from '../../src/committee/roster.js';

const rb = (n: number) => new Uint8Array(randomBytes(n));
const point = () => secp256k1.Point.BASE.multiply(BigInt('0x' + Buffer.from(rb(31)).toString('hex')) + 1n).toBytes(true);

function sampleRoster(n: number): Roster {
  return {
    epoch: 7, threshold: defaultThreshold(n), masterPublicKey: point(), committeeKey: point().slice(1), previousCertificateHash: rb(32),
    members: Array.from({ length: n }, () => rb(16)).sort(Buffer.compare).map((nodeId, i) => ({
      nodeId, identityKey: rb(32), transportKey: secp256k1.Point.BASE.multiply(BigInt(i + 2)).toBytes(false),
      endpoint: `127.0.0.1:${7000 + i}`, stake: 2n ** 64n - 1n - BigInt(i), shareIdentifier: hexToBytes(identifierForPosition(i)),
      derivationVerifyingShare: point(), signingVerifyingShare: point(),
    })),
  };
}

describe('canonical roster bytes', () => {
  test('round-trip exactly, for several sizes', () => {
    for (const n of [2, 4, 16]) {
      const r = sampleRoster(n);
      const bytes = encodeRoster(r);
      expect(decodeRoster(bytes)).toEqual(r);
      expect(Buffer.compare(encodeRoster(decodeRoster(bytes)), bytes)).toBe(0);
    }
  });

  test('truncated, extended or relabelled bytes are refused', () => {
    const bytes = encodeRoster(sampleRoster(3));
    expect(() => decodeRoster(bytes.slice(0, bytes.length - 1))).toThrow(RosterDecodeError);
    expect(() => decodeRoster(new Uint8Array([...bytes, 0]))).toThrow(/after the roster/);
    const bad = Uint8Array.from(bytes);
    bad[0]! ^= 1;
    expect(() => decodeRoster(bad)).toThrow(/bad header/);
  });

  test('members out of node-id order, or identifiers other than 1..n, are refused', () => {
    const r = sampleRoster(3);
    const swapped = { ...r, members: [r.members[1]!, r.members[0]!, r.members[2]!].map((m, i) => ({ ...m, shareIdentifier: hexToBytes(identifierForPosition(i)) })) };
    expect(() => decodeRoster(encodeRoster(swapped))).toThrow(/not sorted/);
    const duplicate = { ...r, members: [r.members[0]!, r.members[0]!, r.members[2]!] };
    expect(() => decodeRoster(encodeRoster(duplicate))).toThrow(/not sorted/);
    const relabelled = { ...r, members: r.members.map((m, i) => ({ ...m, shareIdentifier: hexToBytes(identifierForPosition(i === 1 ? 2 : i)) })) };
    expect(() => decodeRoster(encodeRoster(relabelled))).toThrow(/member 1 has share identifier .*expected 2/);
  });

  test('the certificate message binds the epoch and every roster byte', () => {
    const bytes = encodeRoster(sampleRoster(3));
    const m = rosterCertificateMessage(7, bytes);
    expect(Buffer.from(m.slice(0, 20)).toString()).toBe('gatekeeper/v1/roster');
    expect(Buffer.compare(rosterCertificateMessage(8, bytes), m)).not.toBe(0);
    const other = Uint8Array.from(bytes);
    other[other.length - 1]! ^= 1;
    expect(Buffer.compare(rosterCertificateMessage(7, other), m)).not.toBe(0);
  });

  test('the default threshold is floor(2n/3) + 1', () => {
    expect([2, 3, 4, 7, 16].map(defaultThreshold)).toEqual([2, 3, 3, 5, 11]);
  });
});
