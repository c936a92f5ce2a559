// Named refusals of the SDK. Each says what did not check out in words an operator can act on, and
// never carries secret material.

/** Base class: the SDK refused a response or could not finish a step. */
export class SdkError extends Error {
  override name = 'SdkError';
}

/** The committee response does not verify under the pinned committee key (CPK). */
export class CommitteeVerificationError extends SdkError {
  override name = 'CommitteeVerificationError';
}

/** The committee response's fields disagree with the certified roster. */
export class CommitteeMismatchError extends CommitteeVerificationError {
  override name = 'CommitteeMismatchError';
}

/** A contract key whose certificate does not verify under the pinned CPK, or a malformed answer. */
export class ContractKeyCertificateError extends SdkError {
  override name = 'ContractKeyCertificateError';
}

/** A verified contract key older than the version the client asked for at least. */
export class ContractKeyVersionError extends SdkError {
  override name = 'ContractKeyVersionError';
}

/** A member whose sealed partial was dropped, and why. */
export interface BadMember {
  /** 16-byte node id, lowercase hex. */
  nodeId: string;
  reason: string;
}

/** Provisioning failed: fewer than k good partials, or the committee refused the request. */
export class ProvisioningError extends SdkError {
  override name = 'ProvisioningError';
  constructor(message: string, readonly details: { good: number; need: number; badMembers: BadMember[]; refusals: string[] } =
  { good: 0, need: 0, badMembers: [], refusals: [] }) {
    super(message);
  }
}

/** Publication was refused, or the returned certificate does not verify. */
export class PublicationError extends SdkError {
  override name = 'PublicationError';
}
