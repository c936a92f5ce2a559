// Hand-off messages (DESIGN §3.4 "Hand-off in detail"): the setup every party derives from the
// certified old roster and the elected new one, and the four signed messages (dealing,
// acknowledgement, complaint, proposal) with one deterministic binary encoding each
// (docs/handoff.md). Decoders check every length and refuse trailing bytes; signatures are checked
// by the phase functions, which know who must have signed.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, u16be, u32be, utf8 } from '../../crypto/bytes.js';
import { N_ENC, AEAD_TAG_LENGTH } from '../../crypto/hpke.js';
import { identifierForPosition, type Identifier, type Suite } from '../../crypto/frost.js';
import { reshareGroupFromVerifyingShares, type ReshareGroup } from '../../crypto/reshare.js';
import type { Roster } from '../../committee/roster.js';
import type { Disclosure } from '../complaint.js';

/** Both committee secrets, in the order every encoding lists them. */
export const SUITES: readonly Suite[] = ['derivation', 'signing'];
/** The byte naming a secret in HPKE info and complaints. */
export const SUITE_BYTE: Record<Suite, number> = { derivation: 0, signing: 1 };
/** A sealed sub-share: enc (65) || AES-256-GCM(32-byte sub-share) with its 16-byte tag. */
export const SEALED_SUB_SHARE_LENGTH = N_ENC + 32 + AEAD_TAG_LENGTH;

/** A hand-off message refused: malformed, wrongly signed, or out of place. */
export class HandoffError extends Error {
  override name = 'HandoffError';
}

/** One party of a hand-off, as the rosters name it. */
export interface HandoffMember {
  nodeId: Uint8Array;       // 16
  identityKey: Uint8Array;  // 32, x-only BIP340
  transportKey: Uint8Array; // 65, HPKE
  /** FROST identifier in its roster: position + 1. */
  identifier: Identifier;
}

/** Everything every party derives before the hand-off starts, identically. */
export interface HandoffSetup {
  /** The new epoch, e + 1. */
  epoch: number;
  /** 32 bytes binding the round every member voted for (epoch, snapshot hash, roster hash). */
  session: Uint8Array;
  old: { threshold: number; members: HandoffMember[]; groups: Record<Suite, ReshareGroup> };
  next: { threshold: number; members: HandoffMember[] };
}

/**
 * The setup from the certified old roster and the elected new members (any order; they are sorted
 * by node id, and identifiers are positions + 1, as docs/roster.md numbers them). The old groups
 * come from the roster's verifying shares and must give its MPK and CPK.
 */
export function handoffSetup(oldRoster: Roster, epoch: number, session: Uint8Array,
  next: { threshold: number; members: { nodeId: Uint8Array; identityKey: Uint8Array; transportKey: Uint8Array }[] }): HandoffSetup {
  if (!Number.isInteger(epoch) || epoch <= oldRoster.epoch || epoch > 0xffffffff) throw new HandoffError('the hand-off epoch must follow the old roster\'s');
  if (!(session instanceof Uint8Array) || session.length !== 32) throw new HandoffError('session: expected 32 bytes');
  const oldMembers: HandoffMember[] = oldRoster.members.map((m) => ({
    nodeId: m.nodeId, identityKey: m.identityKey, transportKey: m.transportKey, identifier: bytesToHex(m.shareIdentifier),
  }));
  const share = (key: 'derivationVerifyingShare' | 'signingVerifyingShare') =>
    Object.fromEntries(oldRoster.members.map((m) => [bytesToHex(m.shareIdentifier), m[key]]));
  const groups = {
    derivation: reshareGroupFromVerifyingShares('derivation', oldRoster.threshold, share('derivationVerifyingShare'), oldRoster.masterPublicKey),
    signing: reshareGroupFromVerifyingShares('signing', oldRoster.threshold, share('signingVerifyingShare'), oldRoster.committeeKey),
  };
  const sorted = [...next.members].sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
  sorted.forEach((m, i) => {
    if (!(m.nodeId instanceof Uint8Array) || m.nodeId.length !== 16) throw new HandoffError(`new member ${i}: node id must be 16 bytes`);
    if (!(m.identityKey instanceof Uint8Array) || m.identityKey.length !== 32) throw new HandoffError(`new member ${i}: identity key must be 32 bytes`);
    if (!(m.transportKey instanceof Uint8Array) || m.transportKey.length !== 65) throw new HandoffError(`new member ${i}: transport key must be 65 bytes`);
    if (i > 0 && equalBytes(sorted[i - 1]!.nodeId, m.nodeId)) throw new HandoffError('new members: duplicate node id');
  });
  if (!Number.isSafeInteger(next.threshold) || next.threshold < 2 || next.threshold > sorted.length)
    throw new HandoffError(`new threshold must satisfy 2 <= k <= n (got k=${next.threshold}, n=${sorted.length})`);
  return {
    epoch, session: Uint8Array.from(session),
    old: { threshold: oldRoster.threshold, members: oldMembers, groups },
    next: { threshold: next.threshold, members: sorted.map((m, i) => ({ ...m, identifier: identifierForPosition(i) })) },
  };
}

/** The member with this node id, or undefined. */
export function memberByNodeId(members: HandoffMember[], nodeId: Uint8Array): HandoffMember | undefined {
  return members.find((m) => equalBytes(m.nodeId, nodeId));
}

/** HPKE info of one sub-share: binds epoch, session, dealer, recipient and secret (docs/handoff.md). */
export function subShareInfo(setup: HandoffSetup, dealer: Uint8Array, recipient: Uint8Array, suite: Suite): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/handoff/sub-share'), u32be(setup.epoch), setup.session, dealer, recipient, new Uint8Array([SUITE_BYTE[suite]]));
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers

const MAGIC = {
  dealing: utf8('gatekeeper/v1/handoff-dealing'),
  ack: utf8('gatekeeper/v1/handoff-ack'),
  complaint: utf8('gatekeeper/v1/handoff-complaint'),
  proposal: utf8('gatekeeper/v1/handoff-proposal'),
};

class Reader {
  private off = 0;
  constructor(private readonly bytes: Uint8Array, private readonly what: string) {
    if (!(bytes instanceof Uint8Array)) throw new HandoffError(`${what}: expected bytes`);
  }
  take(n: number, field: string): Uint8Array {
    if (this.off + n > this.bytes.length) throw new HandoffError(`${this.what}: ends inside ${field}`);
    const out = this.bytes.slice(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u8(field: string): number { return this.take(1, field)[0]!; }
  u16(field: string): number { const b = this.take(2, field); return (b[0]! << 8) | b[1]!; }
  u32(field: string): number { const b = this.take(4, field); return new DataView(b.buffer, b.byteOffset, 4).getUint32(0); }
  magic(m: Uint8Array): void { if (!equalBytes(this.take(m.length, 'the header'), m)) throw new HandoffError(`${this.what}: bad header`); }
  offset(): number { return this.off; }
  end(): void { if (this.off !== this.bytes.length) throw new HandoffError(`${this.what}: ${this.bytes.length - this.off} trailing bytes`); }
}

/** The reference to one dealing an acknowledgement or proposal names. */
export interface DealingRef {
  dealer: Uint8Array;      // node id, 16
  dealingHash: Uint8Array; // SHA-256 of the encoded signed dealing, 32
}

function sortedRefs(refs: DealingRef[], what: string): void {
  refs.forEach((r, i) => {
    if (!(r.dealer instanceof Uint8Array) || r.dealer.length !== 16 || !(r.dealingHash instanceof Uint8Array) || r.dealingHash.length !== 32)
      throw new HandoffError(`${what}: malformed dealing reference`);
    if (i > 0 && Buffer.compare(refs[i - 1]!.dealer, r.dealer) >= 0) throw new HandoffError(`${what}: dealers must be in roster order without repeats`);
  });
}
const encodeRefs = (refs: DealingRef[]) => concatBytes(u16be(refs.length), ...refs.flatMap((r) => [r.dealer, r.dealingHash]));
function readRefs(r: Reader, what: string): DealingRef[] {
  const n = r.u16('the dealing count');
  const refs = Array.from({ length: n }, () => ({ dealer: r.take(16, 'a dealer'), dealingHash: r.take(32, 'a dealing hash') }));
  sortedRefs(refs, what);
  return refs;
}

// ---------------------------------------------------------------------------------------------
// Dealing (one per old member, both secrets)

/** One secret's part of a dealing: C[0..k_new−1] and one sealed sub-share per new member (roster order). */
export interface SuiteDealing {
  commitments: Uint8Array[];
  sealed: Uint8Array[];
}

export interface Dealing {
  epoch: number;
  session: Uint8Array;
  dealer: Uint8Array;
  suites: Record<Suite, SuiteDealing>;
  signature: Uint8Array;
}

/** What the dealer signs ('handoff-dealing'): everything but the signature. */
export function dealingBody(d: Omit<Dealing, 'signature'>): Uint8Array {
  const k = d.suites.derivation.commitments.length;
  const n = d.suites.derivation.sealed.length;
  for (const suite of SUITES) {
    const s = d.suites[suite];
    if (s.commitments.length !== k || s.sealed.length !== n) throw new HandoffError('dealing: both secrets must have the same shape');
    if (s.commitments.some((c) => c.length !== 33) || s.sealed.some((c) => c.length !== SEALED_SUB_SHARE_LENGTH)) throw new HandoffError('dealing: bad field length');
  }
  return concatBytes(MAGIC.dealing, u32be(d.epoch), d.session, d.dealer, u16be(k), u16be(n),
    ...SUITES.flatMap((suite) => [...d.suites[suite].commitments, ...d.suites[suite].sealed]));
}

export function encodeDealing(d: Dealing): Uint8Array {
  if (d.signature.length !== 64) throw new HandoffError('dealing: signature must be 64 bytes');
  return concatBytes(dealingBody(d), d.signature);
}

export function decodeDealing(bytes: Uint8Array): Dealing {
  const r = new Reader(bytes, 'dealing');
  r.magic(MAGIC.dealing);
  const epoch = r.u32('the epoch');
  const session = r.take(32, 'the session');
  const dealer = r.take(16, 'the dealer');
  const k = r.u16('the threshold');
  const n = r.u16('the member count');
  if (k < 2 || n < k) throw new HandoffError('dealing: bad threshold or member count');
  const suites = {} as Record<Suite, SuiteDealing>;
  for (const suite of SUITES) {
    suites[suite] = {
      commitments: Array.from({ length: k }, () => r.take(33, 'a commitment')),
      sealed: Array.from({ length: n }, () => r.take(SEALED_SUB_SHARE_LENGTH, 'a sealed sub-share')),
    };
  }
  const signature = r.take(64, 'the signature');
  r.end();
  return { epoch, session, dealer, suites, signature };
}

/** The hash acknowledgements and proposals name a dealing by: SHA-256 of its encoding. */
export function dealingHash(encoded: Uint8Array): Uint8Array {
  return sha256(encoded);
}

// ---------------------------------------------------------------------------------------------
// Acknowledgement (one per new member)

export interface Acknowledgement {
  epoch: number;
  session: Uint8Array;
  member: Uint8Array;
  /** The dealings this member checked and accepts, in old roster order. */
  accepted: DealingRef[];
  signature: Uint8Array;
}

export function acknowledgementBody(a: Omit<Acknowledgement, 'signature'>): Uint8Array {
  sortedRefs(a.accepted, 'acknowledgement');
  return concatBytes(MAGIC.ack, u32be(a.epoch), a.session, a.member, encodeRefs(a.accepted));
}
export function encodeAcknowledgement(a: Acknowledgement): Uint8Array {
  return concatBytes(acknowledgementBody(a), a.signature);
}
export function decodeAcknowledgement(bytes: Uint8Array): Acknowledgement {
  const r = new Reader(bytes, 'acknowledgement');
  r.magic(MAGIC.ack);
  const a = { epoch: r.u32('the epoch'), session: r.take(32, 'the session'), member: r.take(16, 'the member'), accepted: readRefs(r, 'acknowledgement'), signature: r.take(64, 'the signature') };
  r.end();
  return a;
}

// ---------------------------------------------------------------------------------------------
// Complaint (by a new member, against one secret of one dealing)

export interface HandoffComplaint {
  epoch: number;
  session: Uint8Array;
  accuser: Uint8Array;
  suite: Suite;
  /** The dealer's signed dealing, encoded: the evidence. */
  dealing: Uint8Array;
  disclosure: Disclosure;
  signature: Uint8Array;
}

export function complaintBody(c: Omit<HandoffComplaint, 'signature'>): Uint8Array {
  if (c.disclosure.dhPoint.length !== 33 || c.disclosure.proof.length !== 64) throw new HandoffError('complaint: bad disclosure length');
  return concatBytes(MAGIC.complaint, u32be(c.epoch), c.session, c.accuser, new Uint8Array([SUITE_BYTE[c.suite]]),
    c.disclosure.dhPoint, c.disclosure.proof, u32be(c.dealing.length), c.dealing);
}
export function encodeComplaint(c: HandoffComplaint): Uint8Array {
  return concatBytes(complaintBody(c), c.signature);
}
export function decodeComplaint(bytes: Uint8Array): HandoffComplaint {
  const r = new Reader(bytes, 'complaint');
  r.magic(MAGIC.complaint);
  const epoch = r.u32('the epoch');
  const session = r.take(32, 'the session');
  const accuser = r.take(16, 'the accuser');
  const sb = r.u8('the secret');
  const suite = SUITES.find((s) => SUITE_BYTE[s] === sb);
  if (!suite) throw new HandoffError('complaint: unknown secret');
  const disclosure = { dhPoint: r.take(33, 'the DH value'), proof: r.take(64, 'the proof') };
  const len = r.u32('the dealing length');
  if (len > bytes.length) throw new HandoffError('complaint: ends inside the dealing');
  const dealing = r.take(len, 'the dealing');
  const signature = r.take(64, 'the signature');
  r.end();
  return { epoch, session, accuser, suite, dealing, disclosure, signature };
}

// ---------------------------------------------------------------------------------------------
// Proposal (by the coordinator): Q and the acknowledgements that justify it

export interface Proposal {
  epoch: number;
  session: Uint8Array;
  coordinator: Uint8Array;
  /** Q: the first k_old dealers acknowledged by every new member, in old roster order. */
  qualified: DealingRef[];
  /** Every new member's encoded signed acknowledgement, in new roster order. */
  acknowledgements: Uint8Array[];
  signature: Uint8Array;
}

export function proposalBody(p: Omit<Proposal, 'signature'>): Uint8Array {
  sortedRefs(p.qualified, 'proposal');
  return concatBytes(MAGIC.proposal, u32be(p.epoch), p.session, p.coordinator, encodeRefs(p.qualified),
    u16be(p.acknowledgements.length), ...p.acknowledgements.flatMap((a) => [u32be(a.length), a]));
}
export function encodeProposal(p: Proposal): Uint8Array {
  return concatBytes(proposalBody(p), p.signature);
}
export function decodeProposal(bytes: Uint8Array): Proposal {
  const r = new Reader(bytes, 'proposal');
  r.magic(MAGIC.proposal);
  const epoch = r.u32('the epoch');
  const session = r.take(32, 'the session');
  const coordinator = r.take(16, 'the coordinator');
  const qualified = readRefs(r, 'proposal');
  const n = r.u16('the acknowledgement count');
  const acknowledgements: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = r.u32('an acknowledgement length');
    if (len > bytes.length) throw new HandoffError('proposal: ends inside an acknowledgement');
    acknowledgements.push(r.take(len, 'an acknowledgement'));
  }
  const signature = r.take(64, 'the signature');
  r.end();
  return { epoch, session, coordinator, qualified, acknowledgements, signature };
}
