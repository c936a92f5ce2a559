// Package entry "gatekeeper/worker": the worker SDK (provisioning, publication), with the client
// pieces a worker needs to reach the committee (GatekeeperClient with failover, errors).
export * from './worker.js';
export * from './errors.js';
export { FailoverClient, FailoverClient as GatekeeperClient, connectToCommittee, withRetries, type FailoverOptions, type RetryOptions } from './failover.js';
export { challengeMessage, partialInfo, publicationMessage } from '../keys/wire.js';
export { openInvocation, decodeEnvelope } from '../crypto/envelope.js';
export { RpcError } from '../rpc/errors.js';
