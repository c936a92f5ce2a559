// Gatekeeper SDK: clients (committee, contract keys, envelopes) and TEE workers (provisioning, publication).
export * from './client.js';
export * from './worker.js';
export * from './errors.js';
export { parseContractId } from './contract-id.js';
export { challengeMessage, contractKeyCertificateMessage, partialInfo, publicationMessage } from '../keys/wire.js';
