// Activation (DESIGN §3.5, §8): after a hand-off the OUTGOING committee signs, with FROST under the
// unchanged CPK and its old shares, the certificate of the next roster: epoch, members, k, the new
// verifying shares, MPK, CPK and the hash of the certificate it follows. A member signs only the one
// roster its own completed hand-off gives; everything here is pure.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { equalBytes } from '../crypto/bytes.js';
import type { PublicKeyPackage, Suite } from '../crypto/frost.js';
import {
  encodeRoster, hashOfCertificate, rosterCertificateMessage, type Roster, type RosterCertificate,
} from '../committee/roster.js';
import { failedPrecondition, permissionDenied } from '../rpc/errors.js';
import type { RosterEntryJson } from '../store/ceremony-store.js';

/** The next roster a completed hand-off gives, with its canonical bytes. */
export interface NextRoster { epoch: number; oldEpoch: number; roster: Roster; rosterBytes: Uint8Array }

/**
 * The roster the outgoing committee must certify: the elected members (sorted by node id, identifiers
 * = positions + 1), the new threshold, the new verifying shares of both secrets, MPK and CPK (the
 * hand-off keeps them) and previousCertificateHash = certificateHash of the certificate it follows.
 */
export function expectedNextRoster(o: {
  epoch: number; threshold: number; members: RosterEntryJson[]; publics: Record<Suite, PublicKeyPackage>; previous: RosterCertificate;
}): NextRoster {
  const roster: Roster = {
    epoch: o.epoch, threshold: o.threshold,
    masterPublicKey: o.publics.derivation.groupPublicKey, committeeKey: o.publics.signing.groupPublicKey,
    previousCertificateHash: hashOfCertificate(o.previous),
    members: o.members.map((m) => {
      const d = o.publics.derivation.verifyingShares[m.shareIdentifier];
      const s = o.publics.signing.verifyingShares[m.shareIdentifier];
      if (!d || !s) throw new Error(`the hand-off gives no verifying share for member ${m.nodeId}`);
      return {
        nodeId: hexToBytes(m.nodeId), identityKey: hexToBytes(m.identityKey), transportKey: hexToBytes(m.transportKey),
        endpoint: m.endpoint, stake: BigInt(m.stake), shareIdentifier: hexToBytes(m.shareIdentifier),
        derivationVerifyingShare: d, signingVerifyingShare: s,
      };
    }),
  };
  return { epoch: o.epoch, oldEpoch: o.previous.epoch, roster, rosterBytes: encodeRoster(roster) };
}

/**
 * The read-only check of signing purpose 'activation' on an old member: `next` is what its own
 * completed hand-off gives (undefined while it has none), `oldEpoch` the committee whose share would
 * sign. Refuses anything but the certificate message of exactly that roster.
 */
export function checkActivation(next: NextRoster | undefined, oldEpoch: number, message: Uint8Array): void {
  if (!next) throw failedPrecondition(`ErrNotYet: this member has not completed a hand-off from epoch ${oldEpoch}`);
  if (next.oldEpoch !== oldEpoch) {
    throw permissionDenied(`ErrActivationRefused: this member's hand-off follows epoch ${next.oldEpoch}, not ${oldEpoch}`);
  }
  if (!equalBytes(message, rosterCertificateMessage(next.epoch, next.rosterBytes))) {
    throw permissionDenied(`ErrActivationRefused: this member signs only the epoch ${next.epoch} roster its completed hand-off gives `
      + '(members, k, verifying shares, MPK, CPK and previous certificate hash)');
  }
}

/** The first field in which `offered` differs from the expected roster (for logs and tests), or null. */
export function rosterDifference(expected: Roster, offered: Roster): string | null {
  if (offered.epoch !== expected.epoch) return `epoch ${offered.epoch}, expected ${expected.epoch}`;
  if (offered.threshold !== expected.threshold) return `threshold ${offered.threshold}, expected ${expected.threshold}`;
  if (!equalBytes(offered.masterPublicKey, expected.masterPublicKey)) return 'another MPK';
  if (!equalBytes(offered.committeeKey, expected.committeeKey)) return 'another CPK';
  if (!equalBytes(offered.previousCertificateHash, expected.previousCertificateHash)) return 'another previous certificate hash';
  if (offered.members.length !== expected.members.length) return `${offered.members.length} members, expected ${expected.members.length}`;
  for (const [i, m] of offered.members.entries()) {
    const e = expected.members[i]!;
    if (!equalBytes(m.nodeId, e.nodeId) || !equalBytes(m.identityKey, e.identityKey) || !equalBytes(m.transportKey, e.transportKey)
      || m.endpoint !== e.endpoint || m.stake !== e.stake) return `member ${i} is ${bytesToHex(m.nodeId)}, expected ${bytesToHex(e.nodeId)}`;
    if (!equalBytes(m.derivationVerifyingShare, e.derivationVerifyingShare) || !equalBytes(m.signingVerifyingShare, e.signingVerifyingShare)) {
      return `member ${i} has other verifying shares`;
    }
  }
  return null;
}
