// Hand-off phase 2, Acknowledge (DESIGN §3.4), and the judging of hand-off complaints. A new member
// opens its sub-shares, checks each dealing's C_i[0] against the dealer's verifying share in the
// certified old roster (S_i for s, Z_i for z), checks ALL its sub-shares against the commitments in
// one random-linear-combination batch (reshare.ts verifySubSharesBatched; one by one only to blame),
// and signs an acknowledgement naming the dealings it accepts. For each sub-share that fails it
// writes a verifiable complaint (complaint.ts). Pure: no I/O.
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { equalBytes } from '../../crypto/bytes.js';
import { hpkeOpen } from '../../crypto/hpke.js';
import { signTagged, verifyTagged } from '../../crypto/identity.js';
import { decodePoint, type Rng, type Suite } from '../../crypto/frost.js';
import { verifySubSharesBatched, type ReshareCommitment } from '../../crypto/reshare.js';
import { discloseSharedSecret, splitSealed, verifyComplaint, type Verdict } from '../complaint.js';
import {
  HandoffError, SUITES, acknowledgementBody, complaintBody, decodeComplaint, decodeDealing, dealingBody, dealingHash,
  encodeAcknowledgement, encodeComplaint, memberByNodeId, subShareInfo,
  type Acknowledgement, type Dealing, type DealingRef, type HandoffComplaint, type HandoffMember, type HandoffSetup,
} from './messages.js';

/** A dealing that decoded, is for this hand-off and carries its dealer's signature. */
export interface AttributedDealing {
  dealing: Dealing;
  dealer: HandoffMember;
  encoded: Uint8Array;
  hash: Uint8Array;
  /** Set when the signed public part is already wrong (anyone can see it): the dealer is at fault. */
  publicFault?: string;
}

/**
 * Decodes a dealing and checks it is for this hand-off and signed by an old member. Throws
 * HandoffError for anything that cannot be attributed to a dealer (then nobody is blamed).
 */
export function attributeDealing(setup: HandoffSetup, encoded: Uint8Array): AttributedDealing {
  const dealing = decodeDealing(encoded);
  if (dealing.epoch !== setup.epoch || !equalBytes(dealing.session, setup.session)) throw new HandoffError('dealing: for another hand-off');
  const dealer = memberByNodeId(setup.old.members, dealing.dealer);
  if (!dealer) throw new HandoffError('dealing: the dealer is not an old member');
  if (!verifyTagged(dealer.identityKey, 'handoff-dealing', dealingBody(dealing), dealing.signature)) throw new HandoffError('dealing: not signed by its dealer');
  const out: AttributedDealing = { dealing, dealer, encoded: Uint8Array.from(encoded), hash: dealingHash(encoded) };
  const fault = publicFault(setup, dealing, dealer);
  if (fault) out.publicFault = fault;
  return out;
}

function publicFault(setup: HandoffSetup, d: Dealing, dealer: HandoffMember): string | undefined {
  for (const suite of SUITES) {
    const s = d.suites[suite];
    if (s.commitments.length !== setup.next.threshold || s.sealed.length !== setup.next.members.length) return `the ${suite} dealing has the wrong shape`;
    try {
      const C0 = decodePoint(s.commitments[0], 'C_0');
      s.commitments.forEach((c, j) => decodePoint(c, `C_${j}`));
      if (!C0.equals(decodePoint(setup.old.groups[suite].verifyingShares[dealer.identifier]))) return `the ${suite} C[0] is not the dealer's verifying share`;
    } catch {
      return `the ${suite} commitments are not points`;
    }
  }
  return undefined;
}

export function commitmentOf(a: AttributedDealing, suite: Suite): ReshareCommitment {
  return { suite, dealer: a.dealer.identifier, commitments: a.dealing.suites[suite].commitments };
}

/** A new member's keys for the hand-off. */
export interface RecipientKeys {
  nodeId: Uint8Array;
  identitySecret: Uint8Array;
  transportSecret: Uint8Array;
}

/** Sub-shares a new member keeps (SECRET: store sealed) until Combine, by dealer node id hex. */
export type HeldSubShares = Record<string, Record<Suite, Uint8Array>>;

export interface AcknowledgeResult {
  acknowledgement: Acknowledgement;
  encoded: Uint8Array;
  /** The accepted dealings' sub-shares for this member. Secret. */
  subShares: HeldSubShares;
  /** Encoded signed complaints, one per (dealer, secret) whose sub-share failed. */
  complaints: { dealer: Uint8Array; suite: Suite; encoded: Uint8Array }[];
  /** Dealings not accepted, with a short reason (complaints or public faults or unattributable). */
  refused: { dealer?: Uint8Array; reason: string }[];
}

/**
 * Checks every dealing received (encoded, at most one per dealer is used) and signs the
 * acknowledgement. Unattributable dealings are dropped; a dealer that signed two different dealings
 * is refused (equivocation); a public fault or a bad sub-share excludes the dealer.
 */
export async function acknowledge(setup: HandoffSetup, me: RecipientKeys, received: Uint8Array[], rng: Rng = randomBytes): Promise<AcknowledgeResult> {
  const self = memberByNodeId(setup.next.members, me.nodeId);
  if (!self) throw new HandoffError('only a member of the new roster acknowledges');
  const refused: AcknowledgeResult['refused'] = [];
  const byDealer = new Map<string, AttributedDealing | null>();
  for (const encoded of received) {
    let a: AttributedDealing;
    try {
      a = attributeDealing(setup, encoded);
    } catch (e) {
      refused.push({ reason: e instanceof HandoffError ? e.message : 'dealing: malformed' });
      continue;
    }
    const key = bytesToHex(a.dealer.nodeId);
    const prior = byDealer.get(key);
    if (prior === null) continue;
    if (prior && !equalBytes(prior.hash, a.hash)) {
      byDealer.set(key, null);
      refused.push({ dealer: a.dealer.nodeId, reason: 'the dealer signed two different dealings' });
      continue;
    }
    if (a.publicFault) { byDealer.set(key, null); refused.push({ dealer: a.dealer.nodeId, reason: a.publicFault }); continue; }
    byDealer.set(key, a);
  }
  const dealings = setup.old.members.flatMap((m) => { const a = byDealer.get(bytesToHex(m.nodeId)); return a ? [a] : []; });
  const j = setup.next.members.indexOf(self);

  // Open every sub-share; one that does not open or is not 32 bytes is complained about at once.
  const items: { a: AttributedDealing; suite: Suite; subShare: Uint8Array }[] = [];
  const failed: { a: AttributedDealing; suite: Suite }[] = [];
  for (const a of dealings) {
    for (const suite of SUITES) {
      const { enc, ciphertext } = splitSealed(a.dealing.suites[suite].sealed[j]!);
      try {
        const pt = await hpkeOpen(me.transportSecret, enc, subShareInfo(setup, a.dealer.nodeId, me.nodeId, suite), ciphertext, undefined, { recipientPublicKey: self.transportKey });
        if (pt.length !== 32) { pt.fill(0); failed.push({ a, suite }); continue; }
        items.push({ a, suite, subShare: pt });
      } catch {
        failed.push({ a, suite });
      }
    }
  }
  const bad = verifySubSharesBatched(self.identifier, items.map((it) => ({ commitment: commitmentOf(it.a, it.suite), subShare: it.subShare })));
  for (const i of bad) failed.push(items[i]!);

  const complaints: AcknowledgeResult['complaints'] = [];
  const blamed = new Set<string>();
  for (const f of failed) {
    blamed.add(bytesToHex(f.a.dealer.nodeId));
    const { enc } = splitSealed(f.a.dealing.suites[f.suite].sealed[j]!);
    const unsigned: Omit<HandoffComplaint, 'signature'> = {
      epoch: setup.epoch, session: setup.session, accuser: Uint8Array.from(me.nodeId), suite: f.suite, dealing: f.a.encoded,
      disclosure: discloseSharedSecret(me.transportSecret, self.transportKey, enc, rng),
    };
    const c: HandoffComplaint = { ...unsigned, signature: signTagged(me.identitySecret, 'handoff-complaint', complaintBody(unsigned)) };
    complaints.push({ dealer: f.a.dealer.nodeId, suite: f.suite, encoded: encodeComplaint(c) });
  }
  for (const d of new Set(failed.map((f) => f.a))) refused.push({ dealer: d.dealer.nodeId, reason: 'a sub-share does not open or does not match the commitments' });

  const subShares: HeldSubShares = {};
  const accepted: DealingRef[] = [];
  for (const a of dealings) {
    const key = bytesToHex(a.dealer.nodeId);
    if (blamed.has(key)) continue;
    accepted.push({ dealer: a.dealer.nodeId, dealingHash: a.hash });
    subShares[key] = Object.fromEntries(SUITES.map((s) => [s, items.find((it) => it.a === a && it.suite === s)!.subShare])) as Record<Suite, Uint8Array>;
  }
  for (const it of items) if (blamed.has(bytesToHex(it.a.dealer.nodeId))) it.subShare.fill(0);
  const unsigned = { epoch: setup.epoch, session: setup.session, member: Uint8Array.from(me.nodeId), accepted };
  const acknowledgement: Acknowledgement = { ...unsigned, signature: signTagged(me.identitySecret, 'handoff-ack', acknowledgementBody(unsigned)) };
  return { acknowledgement, encoded: encodeAcknowledgement(acknowledgement), subShares, complaints, refused };
}

/** A judged complaint: who accused whom, about which secret, and the verdict. */
export type JudgedComplaint = Verdict & {
  accuser: Uint8Array;
  dealer: Uint8Array;
  suite: Suite;
};

/**
 * Judges an encoded hand-off complaint. Throws HandoffError if the complaint itself is malformed or
 * not signed by a new member (nothing to judge). Evidence the dealer did not sign makes it false.
 */
export async function verifyHandoffComplaint(setup: HandoffSetup, encoded: Uint8Array): Promise<JudgedComplaint> {
  const c = decodeComplaint(encoded);
  if (c.epoch !== setup.epoch || !equalBytes(c.session, setup.session)) throw new HandoffError('complaint: for another hand-off');
  const accuser = memberByNodeId(setup.next.members, c.accuser);
  if (!accuser) throw new HandoffError('complaint: the accuser is not a new member');
  if (!verifyTagged(accuser.identityKey, 'handoff-complaint', complaintBody(c), c.signature)) throw new HandoffError('complaint: not signed by its accuser');
  let a: AttributedDealing;
  try {
    a = attributeDealing(setup, c.dealing);
  } catch {
    return { verdict: 'complaint-false', reason: 'the evidence is not a dealing its dealer signed for this hand-off', accuser: c.accuser, dealer: new Uint8Array(16), suite: c.suite };
  }
  const who = { accuser: c.accuser, dealer: a.dealer.nodeId, suite: c.suite };
  if (a.publicFault) return { verdict: 'dealer-guilty', reason: a.publicFault, ...who };
  const j = setup.next.members.indexOf(accuser);
  const { enc, ciphertext } = splitSealed(a.dealing.suites[c.suite].sealed[j]!);
  const verdict = await verifyComplaint({
    recipientTransportKey: accuser.transportKey,
    recipientIdentifier: accuser.identifier,
    enc, ciphertext,
    info: subShareInfo(setup, a.dealer.nodeId, accuser.nodeId, c.suite),
    disclosure: c.disclosure,
    expected: [{ commitments: a.dealing.suites[c.suite].commitments, constantTerm: setup.old.groups[c.suite].verifyingShares[a.dealer.identifier]! }],
    parse: (pt) => (pt.length === 32 ? [Uint8Array.from(pt)] : null),
  });
  return { ...verdict, ...who };
}

/**
 * HeldSubShares as bytes for the engine to store SEALED between Acknowledge and Combine:
 * u16be(count) || count × (dealer node id(16) || derivation sub-share(32) || signing sub-share(32)).
 */
export function encodeHeldSubShares(held: HeldSubShares): Uint8Array {
  const dealers = Object.keys(held).sort();
  const out = new Uint8Array(2 + dealers.length * 80);
  out[0] = dealers.length >>> 8;
  out[1] = dealers.length & 0xff;
  dealers.forEach((d, i) => {
    const id = Buffer.from(d, 'hex');
    if (id.length !== 16 || held[d]!.derivation?.length !== 32 || held[d]!.signing?.length !== 32) throw new HandoffError('held sub-shares: malformed');
    out.set(id, 2 + 80 * i);
    out.set(held[d]!.derivation, 18 + 80 * i);
    out.set(held[d]!.signing, 50 + 80 * i);
  });
  return out;
}

export function decodeHeldSubShares(bytes: Uint8Array): HeldSubShares {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2) throw new HandoffError('held sub-shares: malformed');
  const n = (bytes[0]! << 8) | bytes[1]!;
  if (bytes.length !== 2 + 80 * n) throw new HandoffError('held sub-shares: malformed');
  const held: HeldSubShares = {};
  for (let i = 0; i < n; i++) {
    const at = 2 + 80 * i;
    held[bytesToHex(bytes.subarray(at, at + 16))] = { derivation: bytes.slice(at + 16, at + 48), signing: bytes.slice(at + 48, at + 80) };
  }
  return held;
}
