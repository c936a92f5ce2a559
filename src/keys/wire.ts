// Byte strings of worker provisioning, publication and the contract key certificate
// (docs/provisioning.md, DESIGN §5 and §8). One definition, used by members, workers and clients;
// each builder is one line of the spec, with its inputs' lengths checked at the boundary.
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, lp, u32be, u64be, utf8 } from '../crypto/bytes.js';

function bytes(x: unknown, what: string, len?: number): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new TypeError(`${what} must be bytes`);
  if (len !== undefined && x.length !== len) throw new RangeError(`${what} must be ${len} bytes, got ${x.length}`);
  return x;
}

function contractId(cid: unknown): Uint8Array {
  const c = bytes(cid, 'contract id');
  if (c.length === 0 || c.length > 255) throw new RangeError(`contract id must be 1..255 bytes, got ${c.length}`);
  return c;
}


/** §1: what a member signs (tag "challenge") when it issues a challenge. */
export function challengeMessage(nonce: Uint8Array, expiresAtMs: bigint, issuerNodeId: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/challenge'), bytes(nonce, 'nonce', 32), u64be(expiresAtMs), bytes(issuerNodeId, 'issuer node id', 16));
}

/** §2: report_data(64) = SHA-512("gatekeeper/v1/worker" || worker_hpke_key(65) || worker_signing_key(32) || nonce(32)). */
export function workerReportData(workerHpkeKey: Uint8Array, workerSigningKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return sha512(concatBytes(utf8('gatekeeper/v1/worker'), bytes(workerHpkeKey, 'worker HPKE key', 65),
    bytes(workerSigningKey, 'worker signing key', 32), bytes(nonce, 'challenge nonce', 32)));
}

/** §3: HPKE info of one member's sealed partial. */
export function partialInfo(cid: Uint8Array, version: number, nodeId: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/partial'), lp(contractId(cid)), u32be(version), bytes(nodeId, 'node id', 16));
}

/** §4: what the worker signs (tag "worker-publication") to publish pk_c. */
export function publicationMessage(cid: Uint8Array, version: number, publicKey: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/publish'), lp(contractId(cid)), u32be(version), bytes(publicKey, 'contract public key', 33));
}

/** DESIGN §8: what CPK signs for a contract key. */
export function contractKeyCertificateMessage(cid: Uint8Array, version: number, generation: number, publicKey: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/contract-key'), lp(contractId(cid)), u32be(version), u32be(generation),
    bytes(publicKey, 'contract public key', 33));
}

/** What governance can do to a contract's key versions (docs/provisioning.md §7). */
export const CONTRACT_ACTIONS = ['rotate', 'retire', 'resolve-alarm'] as const;
export type ContractAction = (typeof CONTRACT_ACTIONS)[number];

/**
 * §7: what a governance key signs (tag "contract-governance") to rotate to, retire, or clear the alarm
 * of one version of one contract. The action, the contract and the version are all bound, so a
 * signature cannot be replayed as another action, for another contract or for another version.
 */
export function contractGovernanceMessage(action: ContractAction, cid: Uint8Array, version: number): Uint8Array {
  if (!(CONTRACT_ACTIONS as readonly string[]).includes(action)) throw new RangeError('unknown contract action');
  return concatBytes(utf8('gatekeeper/v1/contract-governance'), lp(utf8(action)), lp(contractId(cid)), u32be(version));
}

/** §4: a member's receipt (tag "provisioned") that it released its partial of (cid, v) to that worker key. */
export function provisionReceiptMessage(cid: Uint8Array, version: number, workerSigningKey: Uint8Array, nodeId: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/provisioned'), lp(contractId(cid)), u32be(version),
    bytes(workerSigningKey, 'worker signing key', 32), bytes(nodeId, 'node id', 16));
}

/** A short stable name for a measurement or key in logs and the audit log (not secret). */
export function fingerprint(b: Uint8Array): string {
  return Buffer.from(sha256(b).slice(0, 8)).toString('hex');
}
