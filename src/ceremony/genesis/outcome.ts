// Genesis, after round 3 (issue 11 item 4, DESIGN §3.4): every member publishes one signed outcome,
// either a confirmation naming SHA-256 of the roster it computed (so it holds a key package of that
// roster) or a verifiable complaint against one sender of a bad round-2 share. The roster is
// certified only once every listed member confirmed the same roster; a complaint aborts genesis
// everywhere, naming the culprit (a proven bad dealing) or the accuser (a complaint that does not
// hold). Pure functions over plain packages: the ceremony driver does the I/O.
import { bytesToHex } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, lp, u32be } from '../../crypto/bytes.js';
import { signTagged, verifyTagged } from '../../crypto/identity.js';
import { discloseSharedSecret, splitSealed, verifyGenesisComplaint, type GenesisComplaint, type GenesisParty } from '../complaint.js';

/** DkgComplaint as proto-loader gives it (peer.proto). */
export interface DkgComplaintWire {
  accusedNodeId: Uint8Array;
  round1Derivation: Uint8Array; round1Signing: Uint8Array; round1Signature: Uint8Array;
  sealed: Uint8Array; round2Signature: Uint8Array;
  dhPoint: Uint8Array; proof: Uint8Array;
}

/** DkgOutcome as proto-loader gives it: exactly one of rosterHash (32 bytes) and complaint. */
export interface DkgOutcomeWire {
  epoch: number;
  senderNodeId: Uint8Array;
  rosterHash: Uint8Array;
  complaint: DkgComplaintWire | null;
  signature: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** What an outcome signature covers: u32be(epoch) || sender || lp(roster_hash) || lp(accused) || lp(dh_point). */
export function dkgOutcomeMessage(o: Omit<DkgOutcomeWire, 'signature'>): Uint8Array {
  return concatBytes(u32be(o.epoch), o.senderNodeId, lp(o.rosterHash), lp(o.complaint?.accusedNodeId ?? EMPTY), lp(o.complaint?.dhPoint ?? EMPTY));
}

export function signOutcome(identitySecret: Uint8Array, o: Omit<DkgOutcomeWire, 'signature'>): DkgOutcomeWire {
  return { ...o, signature: signTagged(identitySecret, 'dkg-outcome', dkgOutcomeMessage(o)) };
}

/** The evidence a member holds against one sender: its signed round 1 and its signed sealed share for us. */
export interface Evidence {
  sender: GenesisParty;
  round1: { derivation: Uint8Array; signing: Uint8Array; signature: Uint8Array };
  round2: { sealed: Uint8Array; signature: Uint8Array };
}

/**
 * Builds the complaint against each sender whose share is proven bad, judging each with the very
 * check every other member will run (verifyGenesisComplaint). Returns the guilty ones only.
 */
export async function complaintsAgainst(epoch: number, me: GenesisParty, transportSecret: Uint8Array, evidence: Evidence[]):
  Promise<{ accused: GenesisParty; complaint: DkgComplaintWire; reason: string }[]> {
  const out: { accused: GenesisParty; complaint: DkgComplaintWire; reason: string }[] = [];
  for (const e of evidence) {
    let enc: Uint8Array;
    try {
      enc = splitSealed(e.round2.sealed).enc;
    } catch {
      continue;
    }
    let disclosure;
    try {
      disclosure = discloseSharedSecret(transportSecret, me.transportKey, enc);
    } catch {
      continue;
    }
    const c: GenesisComplaint = { epoch, round1: e.round1, round2: e.round2, disclosure };
    const v = await verifyGenesisComplaint(epoch, e.sender, me, c);
    if (v.verdict !== 'dealer-guilty') continue;
    out.push({
      accused: e.sender, reason: v.reason,
      complaint: {
        accusedNodeId: e.sender.nodeId, round1Derivation: e.round1.derivation, round1Signing: e.round1.signing,
        round1Signature: e.round1.signature, sealed: e.round2.sealed, round2Signature: e.round2.signature,
        dhPoint: disclosure.dhPoint, proof: disclosure.proof,
      },
    });
  }
  return out;
}

/** The verdict on one fetched outcome. */
export type OutcomeVerdict =
  | { kind: 'confirmed' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'blame'; code: 'ErrDealerDisqualified' | 'ErrFalseComplaint' | 'ErrRosterMismatch'; culprit: string; reason: string };

/**
 * Judges member `from`'s outcome against this member's own roster hash. `invalid` (bad signature,
 * wrong sender or epoch) is ignored and asked again; `blame` aborts genesis naming the culprit.
 */
export async function judgeOutcome(epoch: number, from: GenesisParty, parties: GenesisParty[], myRosterHash: Uint8Array,
  o: DkgOutcomeWire): Promise<OutcomeVerdict> {
  if (o.epoch !== epoch || !equalBytes(o.senderNodeId, from.nodeId)) return { kind: 'invalid', reason: 'outcome for another epoch or sender' };
  const hasHash = o.rosterHash?.length > 0;
  const hasComplaint = !!o.complaint && o.complaint.accusedNodeId?.length > 0;
  if (hasHash === hasComplaint) return { kind: 'invalid', reason: 'an outcome carries exactly one of a roster hash and a complaint' };
  if (!verifyTagged(from.identityKey, 'dkg-outcome', dkgOutcomeMessage(o), o.signature)) return { kind: 'invalid', reason: 'outcome signature does not verify' };
  const fromHex = bytesToHex(from.nodeId);
  if (hasHash) {
    if (equalBytes(o.rosterHash, myRosterHash)) return { kind: 'confirmed' };
    return { kind: 'blame', code: 'ErrRosterMismatch', culprit: fromHex, reason: `member ${fromHex} confirmed another roster` };
  }
  const c = o.complaint!;
  const accused = parties.find((p) => equalBytes(p.nodeId, c.accusedNodeId));
  if (!accused || equalBytes(accused.nodeId, from.nodeId)) {
    return { kind: 'blame', code: 'ErrFalseComplaint', culprit: fromHex, reason: `member ${fromHex} accused a node that is not another member` };
  }
  const v = await verifyGenesisComplaint(epoch, accused, from, {
    epoch,
    round1: { derivation: c.round1Derivation, signing: c.round1Signing, signature: c.round1Signature },
    round2: { sealed: c.sealed, signature: c.round2Signature },
    disclosure: { dhPoint: c.dhPoint, proof: c.proof },
  });
  const accusedHex = bytesToHex(accused.nodeId);
  if (v.verdict === 'dealer-guilty') {
    return { kind: 'blame', code: 'ErrDealerDisqualified', culprit: accusedHex, reason: `member ${accusedHex} sent member ${fromHex} a bad round-2 share (${v.reason})` };
  }
  return { kind: 'blame', code: 'ErrFalseComplaint', culprit: fromHex, reason: `member ${fromHex} made a complaint against ${accusedHex} that does not hold (${v.reason})` };
}

/** Public evidence of a complaint for the audit log (no secret: the disclosure opens only the bad share). */
export function complaintEvidence(c: DkgComplaintWire): Record<string, string> {
  return {
    accused: bytesToHex(c.accusedNodeId), round1Signature: bytesToHex(c.round1Signature), sealed: bytesToHex(c.sealed),
    round2Signature: bytesToHex(c.round2Signature), dhPoint: bytesToHex(c.dhPoint), proof: bytesToHex(c.proof),
  };
}
