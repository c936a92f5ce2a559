// Hand-off phase 3, Qualify (DESIGN §3.4): the coordinator proposes Q = the first k_old dealers, in
// old roster order, that EVERY new member acknowledged (with the same dealing hash), and attaches the
// signed acknowledgements; each new member re-derives Q from them and refuses any other proposal. So
// all new members combine over the same dealers, a complained dealer (its accuser did not
// acknowledge it) is never in Q, and an acknowledged dealer cannot be skipped. Pure: no I/O.
import { bytesToHex } from '@noble/hashes/utils.js';
import { equalBytes } from '../../crypto/bytes.js';
import { signTagged, verifyTagged } from '../../crypto/identity.js';
import {
  HandoffError, acknowledgementBody, decodeAcknowledgement, decodeProposal, encodeProposal, memberByNodeId, proposalBody,
  type Acknowledgement, type DealingRef, type HandoffSetup, type Proposal,
} from './messages.js';

/** Decodes an acknowledgement and checks it is for this hand-off and signed by its new member. */
export function checkAcknowledgement(setup: HandoffSetup, encoded: Uint8Array): Acknowledgement {
  const a = decodeAcknowledgement(encoded);
  if (a.epoch !== setup.epoch || !equalBytes(a.session, setup.session)) throw new HandoffError('acknowledgement: for another hand-off');
  const m = memberByNodeId(setup.next.members, a.member);
  if (!m) throw new HandoffError('acknowledgement: not from a new member');
  if (!verifyTagged(m.identityKey, 'handoff-ack', acknowledgementBody(a), a.signature)) throw new HandoffError('acknowledgement: not signed by its member');
  for (const r of a.accepted) if (!memberByNodeId(setup.old.members, r.dealer)) throw new HandoffError('acknowledgement: names a dealer that is not an old member');
  return a;
}

/**
 * Q from one acknowledgement per new member (in new roster order): the first k_old old members, in
 * old roster order, that every acknowledgement accepts with one and the same dealing hash. Throws
 * HandoffError if an acknowledgement is missing or fewer than k_old dealers qualify.
 */
export function deriveQualified(setup: HandoffSetup, acks: Acknowledgement[]): DealingRef[] {
  if (acks.length !== setup.next.members.length) throw new HandoffError(`need an acknowledgement from each of the ${setup.next.members.length} new members, have ${acks.length}`);
  acks.forEach((a, i) => {
    if (!equalBytes(a.member, setup.next.members[i]!.nodeId)) throw new HandoffError('acknowledgements must be one per new member, in roster order');
  });
  const q: DealingRef[] = [];
  for (const dealer of setup.old.members) {
    if (q.length === setup.old.threshold) break;
    let hash: Uint8Array | undefined;
    const all = acks.every((a) => {
      const r = a.accepted.find((x) => equalBytes(x.dealer, dealer.nodeId));
      if (!r) return false;
      hash ??= r.dealingHash;
      return equalBytes(hash, r.dealingHash);
    });
    if (all && hash) q.push({ dealer: dealer.nodeId, dealingHash: hash });
  }
  if (q.length < setup.old.threshold) throw new HandoffError(`only ${q.length} dealers were acknowledged by every new member; need ${setup.old.threshold}`);
  return q;
}

/** The coordinator's signed proposal from every new member's encoded acknowledgement. */
export function propose(setup: HandoffSetup, coordinator: { nodeId: Uint8Array; identitySecret: Uint8Array }, acknowledgements: Uint8Array[]): { proposal: Proposal; encoded: Uint8Array } {
  if (!memberByNodeId([...setup.old.members, ...setup.next.members], coordinator.nodeId)) throw new HandoffError('the coordinator must be an old or new member');
  const checked = acknowledgements.map((e) => ({ e, a: checkAcknowledgement(setup, e) }));
  const order = (m: Uint8Array) => setup.next.members.findIndex((x) => equalBytes(x.nodeId, m));
  checked.sort((x, y) => order(x.a.member) - order(y.a.member));
  const qualified = deriveQualified(setup, checked.map((c) => c.a));
  const unsigned = { epoch: setup.epoch, session: setup.session, coordinator: Uint8Array.from(coordinator.nodeId), qualified, acknowledgements: checked.map((c) => c.e) };
  const proposal: Proposal = { ...unsigned, signature: signTagged(coordinator.identitySecret, 'handoff-proposal', proposalBody(unsigned)) };
  return { proposal, encoded: encodeProposal(proposal) };
}

/**
 * A new member's check of a proposal: signed by an old or new member (`coordinator` pins which one,
 * when the engine knows it), one valid acknowledgement per new member, our own acknowledgement
 * byte-identical to the one we signed (when given), and Q exactly the one those acknowledgements give.
 */
export function checkProposal(setup: HandoffSetup, encoded: Uint8Array, opts: { coordinator?: Uint8Array; ownAcknowledgement?: Uint8Array } = {}): Proposal {
  const p = decodeProposal(encoded);
  if (p.epoch !== setup.epoch || !equalBytes(p.session, setup.session)) throw new HandoffError('proposal: for another hand-off');
  if (opts.coordinator && !equalBytes(opts.coordinator, p.coordinator)) throw new HandoffError('proposal: not from the coordinator');
  const signer = memberByNodeId([...setup.old.members, ...setup.next.members], p.coordinator);
  if (!signer) throw new HandoffError('proposal: the coordinator is not a member');
  if (!verifyTagged(signer.identityKey, 'handoff-proposal', proposalBody(p), p.signature)) throw new HandoffError('proposal: not signed by its coordinator');
  const acks = p.acknowledgements.map((e) => checkAcknowledgement(setup, e));
  if (opts.ownAcknowledgement) {
    const mine = decodeAcknowledgement(opts.ownAcknowledgement);
    const i = p.acknowledgements.findIndex((_, k) => equalBytes(acks[k]!.member, mine.member));
    if (i < 0 || !equalBytes(p.acknowledgements[i]!, opts.ownAcknowledgement)) throw new HandoffError('proposal: does not carry our acknowledgement as we signed it');
  }
  const q = deriveQualified(setup, acks);
  const same = q.length === p.qualified.length && q.every((r, i) => equalBytes(r.dealer, p.qualified[i]!.dealer) && equalBytes(r.dealingHash, p.qualified[i]!.dealingHash));
  if (!same) {
    const names = (rs: DealingRef[]) => rs.map((r) => bytesToHex(r.dealer).slice(0, 8)).join(',');
    throw new HandoffError(`proposal: Q differs from the one the acknowledgements give (proposed ${names(p.qualified)}, expected ${names(q)})`);
  }
  return p;
}
