// Package entry "gatekeeper/client": the client SDK. GatekeeperClient is the failover client of one
// or several committee members (failover.ts); every answer is verified against the pinned committee key.
export * from './client.js';
export * from './errors.js';
export {
  FailoverClient, FailoverClient as GatekeeperClient, connectToCommittee, withRetries, parseEndpoints, IDEMPOTENT_CALLS, TRANSIENT_STATUSES,
  type EndpointCaller, type EndpointHealth, type FailoverOptions, type RetryOptions,
} from './failover.js';
export { parseContractId } from './contract-id.js';
export { contractKeyCertificateMessage } from '../keys/wire.js';
export { decodeEnvelope, encodeEnvelope, invocationInfo, openInvocation, sealInvocation, EnvelopeError, ENVELOPE_VERSION, type InvocationEnvelope } from '../crypto/envelope.js';
export { RpcError } from '../rpc/errors.js';
export type { CallOptions } from '../rpc/client.js';
export type { ServiceName } from '../rpc/proto.js';
export type { Roster, RosterMember } from '../committee/roster.js';
