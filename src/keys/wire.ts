// Byte strings of worker provisioning, publication and the contract key certificate
// (docs/provisioning.md, DESIGN §5 and §8). One definition, used by members, workers and clients.
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, lp, u32be, utf8 } from '../crypto/bytes.js';

function u64be(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

/** Signed by the issuing member, tag "challenge". */
export function challengeMessage(nonce: Uint8Array, expiresAtMs: bigint, issuerNodeId: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/challenge'), nonce, u64be(expiresAtMs), issuerNodeId);
}

/** report_data = SHA-512("gatekeeper/v1/worker" || worker_hpke_key || worker_signing_key || nonce). */
export function workerReportData(workerHpkeKey: Uint8Array, workerSigningKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return sha512(concatBytes(utf8('gatekeeper/v1/worker'), workerHpkeKey, workerSigningKey, nonce));
}

/** HPKE info of one member's sealed partial. */
export function partialInfo(contractId: Uint8Array, version: number, nodeId: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/partial'), lp(contractId), u32be(version), nodeId);
}

/** Signed by the worker's signing key, tag "worker-publication". */
export function publicationMessage(contractId: Uint8Array, version: number, publicKey: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/publish'), lp(contractId), u32be(version), publicKey);
}

/** DESIGN §8: what CPK signs for a contract key. */
export function contractKeyCertificateMessage(contractId: Uint8Array, version: number, generation: number, publicKey: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/contract-key'), lp(contractId), u32be(version), u32be(generation), publicKey);
}

/** A short stable name for a measurement or key in logs and the audit log (not secret). */
export function fingerprint(b: Uint8Array): string {
  return Buffer.from(sha256(b).slice(0, 8)).toString('hex');
}
