// Gatekeeper SDK: clients (committee, contract keys, envelopes) and TEE workers (provisioning, publication).
// The package's main entry ("gatekeeper"); "gatekeeper/client" and "gatekeeper/worker" are the halves.
export * from './client-api.js';
export * from './worker-api.js';
