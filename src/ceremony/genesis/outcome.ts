// Genesis, after round 3 (issue 11 item 4, DESIGN §3.4): every member broadcasts one outcome in the
// engine's `outcome` phase (signed by the engine like every message), either a confirmation naming
// SHA-256 of the roster it computed (so it holds a key package of that roster) or a verifiable
// complaint against one sender of a bad round-2 share. The roster is certified only once every listed
// member confirmed the same roster; a complaint aborts genesis everywhere, naming the culprit (a proven
// bad dealing) or the accuser (a complaint that does not hold). Pure functions over plain packages.
//
// Body (JSON, hex strings): {"rosterHash": "<64 hex>"} or {"complaint": {"accused": "<identity key hex>",
// "round1": {"body", "signature"}, "round2": {"body", "signature"}, "dhPoint", "proof"}}, where round1
// and round2 are the accused's own signed engine messages (round2 still sealed to the accuser).
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { equalBytes, utf8 } from '../../crypto/bytes.js';
import { discloseSharedSecret, splitSealed, verifyGenesisComplaint, type Disclosure, type SignedBody } from '../complaint.js';
import type { GenesisParty } from './messages.js';

/** A complaint as it travels: the accused's engine id and the evidence. */
export interface OutcomeComplaint { accused: string; round1: SignedBody; round2: SignedBody; disclosure: Disclosure }

export type Outcome = { rosterHash: Uint8Array } | { complaint: OutcomeComplaint };

const HEX = /^(?:[0-9a-f]{2})*$/;
const MAX_HEX = 1 << 20;
const hexField = (v: unknown, what: string, len?: number): Uint8Array => {
  if (typeof v !== 'string' || v.length > MAX_HEX || !HEX.test(v) || (len !== undefined && v.length !== 2 * len)) throw new Error(`${what}: not hex of the right length`);
  return hexToBytes(v);
};
const signedField = (v: unknown, what: string): SignedBody => {
  const o = (v ?? {}) as Record<string, unknown>;
  return { body: hexField(o.body, `${what}.body`), signature: hexField(o.signature, `${what}.signature`, 64) };
};
const signedJson = (m: SignedBody) => ({ body: bytesToHex(m.body), signature: bytesToHex(m.signature) });

export function encodeOutcome(o: Outcome): Uint8Array {
  if ('rosterHash' in o) return utf8(JSON.stringify({ rosterHash: bytesToHex(o.rosterHash) }));
  const c = o.complaint;
  return utf8(JSON.stringify({ complaint: {
    accused: c.accused, round1: signedJson(c.round1), round2: signedJson(c.round2),
    dhPoint: bytesToHex(c.disclosure.dhPoint), proof: bytesToHex(c.disclosure.proof),
  } }));
}

/** Exactly one of a 32-byte roster hash and a complaint; throws (a short message, no input echoed) otherwise. */
export function decodeOutcome(b: Uint8Array): Outcome {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
  } catch {
    throw new Error('the outcome is not JSON');
  }
  if (!o || typeof o !== 'object') throw new Error('the outcome is not a JSON object');
  if (('rosterHash' in o) === ('complaint' in o)) throw new Error('an outcome carries exactly one of a roster hash and a complaint');
  if ('rosterHash' in o) return { rosterHash: hexField(o.rosterHash, 'rosterHash', 32) };
  const c = (o.complaint ?? {}) as Record<string, unknown>;
  return { complaint: {
    accused: bytesToHex(hexField(c.accused, 'accused', 32)),
    round1: signedField(c.round1, 'round1'), round2: signedField(c.round2, 'round2'),
    disclosure: { dhPoint: hexField(c.dhPoint, 'dhPoint', 33), proof: hexField(c.proof, 'proof', 64) },
  } };
}

/** The evidence a member holds against one sender: its signed round-1 broadcast and its signed sealed share for us. */
export interface Evidence { sender: GenesisParty; round1: SignedBody; round2: SignedBody }

/**
 * Builds the complaint against each sender whose share is proven bad, judging each with the very
 * check every other member will run (verifyGenesisComplaint). Returns the guilty ones only.
 */
export async function complaintsAgainst(ceremony: string, me: GenesisParty, transportSecret: Uint8Array, evidence: Evidence[]):
  Promise<{ accused: GenesisParty; complaint: OutcomeComplaint; reason: string }[]> {
  const out: { accused: GenesisParty; complaint: OutcomeComplaint; reason: string }[] = [];
  for (const e of evidence) {
    let disclosure: Disclosure;
    try {
      disclosure = discloseSharedSecret(transportSecret, me.transportKey, splitSealed(e.round2.body).enc);
    } catch {
      continue;
    }
    const v = await verifyGenesisComplaint(ceremony, e.sender, me, { round1: e.round1, round2: e.round2, disclosure });
    if (v.verdict !== 'dealer-guilty') continue;
    out.push({ accused: e.sender, reason: v.reason, complaint: { accused: e.sender.id, round1: e.round1, round2: e.round2, disclosure } });
  }
  return out;
}

export type BlameCode = 'ErrDealerDisqualified' | 'ErrFalseComplaint' | 'ErrRosterMismatch' | 'ErrBadMessage';

/** The verdict on one member's outcome; `culprit` is the engine id of the member to blame. */
export type OutcomeVerdict =
  | { kind: 'confirmed' }
  | { kind: 'blame'; code: BlameCode; culprit: GenesisParty; reason: string };

const nodeHex = (p: GenesisParty) => bytesToHex(p.nodeId);

/**
 * Judges member `from`'s signed outcome body against this member's own roster hash: a confirmation of
 * the same roster, or the blame that aborts genesis (the engine already checked the signature).
 */
export async function judgeOutcome(ceremony: string, from: GenesisParty, parties: GenesisParty[], myRosterHash: Uint8Array,
  body: Uint8Array): Promise<OutcomeVerdict> {
  let o: Outcome;
  try {
    o = decodeOutcome(body);
  } catch (err) {
    return { kind: 'blame', code: 'ErrBadMessage', culprit: from, reason: `member ${nodeHex(from)} signed a malformed outcome (${(err as Error).message})` };
  }
  if ('rosterHash' in o) {
    if (equalBytes(o.rosterHash, myRosterHash)) return { kind: 'confirmed' };
    return { kind: 'blame', code: 'ErrRosterMismatch', culprit: from, reason: `member ${nodeHex(from)} confirmed another roster` };
  }
  const c = o.complaint;
  const accused = parties.find((p) => p.id === c.accused);
  if (!accused || accused.id === from.id) {
    return { kind: 'blame', code: 'ErrFalseComplaint', culprit: from, reason: `member ${nodeHex(from)} accused a node that is not another member` };
  }
  const v = await verifyGenesisComplaint(ceremony, accused, from, c);
  if (v.verdict === 'dealer-guilty') {
    return { kind: 'blame', code: 'ErrDealerDisqualified', culprit: accused, reason: `member ${nodeHex(accused)} sent member ${nodeHex(from)} a bad round-2 share (${v.reason})` };
  }
  return { kind: 'blame', code: 'ErrFalseComplaint', culprit: from, reason: `member ${nodeHex(from)} made a complaint against ${nodeHex(accused)} that does not hold (${v.reason})` };
}

/** Public evidence of a complaint for the audit log (no secret: the disclosure opens only the bad share). */
export function complaintEvidence(c: OutcomeComplaint): Record<string, string> {
  return {
    accused: c.accused, round1: bytesToHex(c.round1.body), round1Signature: bytesToHex(c.round1.signature),
    sealed: bytesToHex(c.round2.body), round2Signature: bytesToHex(c.round2.signature),
    dhPoint: bytesToHex(c.disclosure.dhPoint), proof: bytesToHex(c.disclosure.proof),
  };
}
