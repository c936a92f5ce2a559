// Hand-off phase 4, Combine (DESIGN §3.4): over the checked proposal's Q, every party computes the
// new public packages from the dealers' commitments (C_m = Σ_{i∈Q} λ_i C_i[m], new verifying
// shares S'_j = Σ_m C_m x_j^m), checking Σ λ_i C_i[0] = MPK (resp. the CPK's point) or failing; a new
// member adds its share x'_j = Σ_{i∈Q} λ_i f_i(x_j). λ are Lagrange weights at 0 over Q's OLD
// identifiers. Key packages come out in frost.ts's format, so FROST signing and contract-key
// partials work on them unchanged. Refresh is the same with the new roster equal to the old. Pure.
import { bytesToHex } from '@noble/hashes/utils.js';
import { equalBytes } from '../../crypto/bytes.js';
import type { KeyPackage, PublicKeyPackage, Suite } from '../../crypto/frost.js';
import { combineCheckedSubShares, reshareCommittedPublicForGroup } from '../../crypto/reshare.js';
import { attributeDealing, commitmentOf, type AttributedDealing, type HeldSubShares } from './acknowledge.js';
import { HandoffError, SUITES, dealingHash, memberByNodeId, type DealingRef, type HandoffSetup } from './messages.js';

/** The dealings of Q, in Q's order, each matching the hash Q names. */
function qualifiedDealings(setup: HandoffSetup, qualified: DealingRef[], dealings: Uint8Array[]): AttributedDealing[] {
  if (qualified.length !== setup.old.threshold) throw new HandoffError(`Q must have exactly ${setup.old.threshold} dealers`);
  const byHash = new Map<string, Uint8Array>();
  for (const d of dealings) byHash.set(bytesToHex(dealingHash(d)), d);
  return qualified.map((r) => {
    const encoded = byHash.get(bytesToHex(r.dealingHash));
    if (!encoded) throw new HandoffError(`missing the dealing of ${bytesToHex(r.dealer)}`);
    const a = attributeDealing(setup, encoded);
    if (!equalBytes(a.dealer.nodeId, r.dealer) || a.publicFault) throw new HandoffError(`the dealing of ${bytesToHex(r.dealer)} does not qualify`);
    return a;
  });
}

/**
 * The new committee's public packages for both secrets, computable by anyone (old members too, for
 * the roster certificate) from the qualified dealings. Throws GroupKeyMismatchError if MPK or CPK
 * would change.
 */
export function newPublicPackages(setup: HandoffSetup, qualified: DealingRef[], dealings: Uint8Array[]): Record<Suite, PublicKeyPackage> {
  const q = qualifiedDealings(setup, qualified, dealings);
  const ids = setup.next.members.map((m) => m.identifier);
  return Object.fromEntries(SUITES.map((suite) => [suite,
    reshareCommittedPublicForGroup(setup.old.groups[suite], ids, setup.next.threshold, q.map((a) => commitmentOf(a, suite)))])) as Record<Suite, PublicKeyPackage>;
}

/**
 * A new member's key packages for both secrets, from Q (a checked proposal's), the dealings, and the
 * sub-shares it accepted in Acknowledge. Checks each new share against its verifying share.
 */
export function combine(setup: HandoffSetup, me: { nodeId: Uint8Array }, qualified: DealingRef[], dealings: Uint8Array[], held: HeldSubShares,
  computed?: Record<Suite, PublicKeyPackage>): Record<Suite, KeyPackage> {
  const self = memberByNodeId(setup.next.members, me.nodeId);
  if (!self) throw new HandoffError('only a member of the new roster combines');
  // The caller may pass what newPublicPackages already gave for these very dealings (it is the costly part).
  const publics = computed ?? newPublicPackages(setup, qualified, dealings);
  const dealerIds = qualified.map((r) => memberByNodeId(setup.old.members, r.dealer)!);
  return Object.fromEntries(SUITES.map((suite) => [suite, combineCheckedSubShares(publics[suite], self.identifier, dealerIds.map((d) => {
    const sub = held[bytesToHex(d.nodeId)]?.[suite];
    if (!sub) throw new HandoffError(`no accepted sub-share from ${bytesToHex(d.nodeId)}: we did not acknowledge a dealer in Q`);
    return { dealer: d.identifier, subShare: sub };
  }))])) as Record<Suite, KeyPackage>;
}
