// The roster and its canonical bytes (docs/roster.md), and the roster certificate message (DESIGN §8).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, lp, u16be, u32be, u64be, utf8 } from '../crypto/bytes.js';
import { identifierForPosition } from '../crypto/frost.js';

export interface RosterMember {
  nodeId: Uint8Array;           // 16
  identityKey: Uint8Array;      // 32, x-only
  transportKey: Uint8Array;     // 65
  endpoint: string;
  stake: bigint;
  shareIdentifier: Uint8Array;  // 32: the member's position in the roster + 1
  derivationVerifyingShare: Uint8Array; // 33
  signingVerifyingShare: Uint8Array;    // 33
}

export interface Roster {
  epoch: number;
  threshold: number;
  masterPublicKey: Uint8Array;  // 33
  committeeKey: Uint8Array;     // 32, x-only
  previousCertificateHash: Uint8Array; // 32; zeros at genesis
  members: RosterMember[];      // sorted by node id
}

const MAGIC = utf8('gatekeeper/v1/roster-bytes');



/** Canonical roster bytes: fixed field order, fixed lengths, members sorted by node id. */
export function encodeRoster(r: Roster): Uint8Array {
  const parts: Uint8Array[] = [
    MAGIC, u32be(r.epoch), u16be(r.threshold), u16be(r.members.length),
    r.masterPublicKey, r.committeeKey, r.previousCertificateHash,
  ];
  for (const m of r.members) {
    parts.push(m.nodeId, m.identityKey, m.transportKey, lp(utf8(m.endpoint)), u64be(m.stake),
      m.shareIdentifier, m.derivationVerifyingShare, m.signingVerifyingShare);
  }
  return concatBytes(...parts);
}

export class RosterDecodeError extends Error {
  override name = 'RosterDecodeError';
}

/** Inverse of encodeRoster, with strict lengths; members must be sorted by node id with identifiers 1..n. */
export function decodeRoster(bytes: Uint8Array): Roster {
  let off = 0;
  const take = (n: number, what: string): Uint8Array => {
    if (off + n > bytes.length) throw new RosterDecodeError(`roster bytes end inside ${what}`);
    const out = bytes.slice(off, off + n);
    off += n;
    return out;
  };
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = take(MAGIC.length, 'the header');
  if (!equalBytes(magic, MAGIC)) throw new RosterDecodeError('not canonical roster bytes (bad header)');
  const epoch = view(take(4, 'epoch')).getUint32(0);
  const threshold = view(take(2, 'threshold')).getUint16(0);
  const n = view(take(2, 'member count')).getUint16(0);
  const masterPublicKey = take(33, 'MPK');
  const committeeKey = take(32, 'CPK');
  const previousCertificateHash = take(32, 'previous certificate hash');
  const members: RosterMember[] = [];
  for (let i = 0; i < n; i++) {
    const nodeId = take(16, 'node id');
    const identityKey = take(32, 'identity key');
    const transportKey = take(65, 'transport key');
    const elen = view(take(2, 'endpoint length')).getUint16(0);
    const endpoint = new TextDecoder('utf-8', { fatal: true }).decode(take(elen, 'endpoint'));
    const stake = view(take(8, 'stake')).getBigUint64(0);
    const previous = members[members.length - 1];
    if (previous && Buffer.compare(previous.nodeId, nodeId) >= 0) throw new RosterDecodeError(`member ${i} is not sorted after member ${i - 1} by node id`);
    const m: RosterMember = {
      nodeId, identityKey, transportKey, endpoint, stake,
      shareIdentifier: take(32, 'share identifier'),
      derivationVerifyingShare: take(33, 'derivation verifying share'),
      signingVerifyingShare: take(33, 'signing verifying share'),
    };
    if (bytesToHex(m.shareIdentifier) !== identifierForPosition(i)) throw new RosterDecodeError(`member ${i} has share identifier ${bytesToHex(m.shareIdentifier)}, expected ${i + 1}`);
    members.push(m);
  }
  if (off !== bytes.length) throw new RosterDecodeError(`${bytes.length - off} bytes after the roster`);
  return { epoch, threshold, masterPublicKey, committeeKey, previousCertificateHash, members };
}

/** The message the outgoing CPK signs: "gatekeeper/v1/roster" || u32be(epoch) || SHA-256(roster bytes). */
export function rosterCertificateMessage(epoch: number, rosterBytes: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/roster'), u32be(epoch), sha256(rosterBytes));
}

/** Hash chaining certificates: SHA-256(u32be(epoch) || roster bytes || signature). */
export function certificateHash(epoch: number, rosterBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  return sha256(concatBytes(u32be(epoch), rosterBytes, signature));
}

/** A roster certificate as it is stored and served: the roster bytes and the outgoing CPK's signature. */
export interface RosterCertificate {
  epoch: number;
  rosterBytes: Uint8Array;
  signature: Uint8Array;
}

/** The previous-certificate hash a genesis roster carries: 32 zero bytes. */
export const GENESIS_PREVIOUS_HASH = new Uint8Array(32);

/** certificateHash of a stored certificate: what the next roster's previousCertificateHash must be. */
export function hashOfCertificate(c: RosterCertificate): Uint8Array {
  return certificateHash(c.epoch, c.rosterBytes, c.signature);
}

/**
 * Why `next` cannot follow `prev` in a certificate chain (DESIGN §3.5), or null: the epoch must grow,
 * the committee key stays (a hand-off never changes CPK), and `next` must name `prev`'s hash. The
 * signature is checked by the caller under `prev`'s CPK. Without `prev`, `next` must be a genesis roster.
 */
export function chainLinkFault(prev: { certificate: RosterCertificate; roster: Roster } | undefined, next: Roster): string | null {
  if (!prev) return equalBytes(next.previousCertificateHash, GENESIS_PREVIOUS_HASH) ? null : `the epoch ${next.epoch} roster is not a genesis roster but starts the chain`;
  if (next.epoch <= prev.roster.epoch) return `roster certificates out of order: epoch ${next.epoch} after ${prev.roster.epoch}`;
  if (!equalBytes(next.committeeKey, prev.roster.committeeKey)) return `the epoch ${next.epoch} roster changes the committee key`;
  if (!equalBytes(next.previousCertificateHash, hashOfCertificate(prev.certificate))) return `the epoch ${next.epoch} roster does not chain to the epoch ${prev.roster.epoch} certificate`;
  return null;
}

/** Default threshold of DESIGN §1: floor(2n/3) + 1. */
export function defaultThreshold(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}
