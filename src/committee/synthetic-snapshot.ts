// Synthetic election snapshots of a chosen size, for tests and benchmarks (development only): candidates
// with fresh identity keys and valid candidacy signatures, deterministic nominations, and optional
// governance signatures. Real snapshots come from operators (DESIGN §3.1).
import { generateIdentityKey, signTagged } from '../crypto/identity.js';
import { generateTransportKeyPair } from '../crypto/hpke.js';
import { encodeMessage } from '../rpc/messages.js';
import { nodeIdOf } from '../node/identity.js';
import { candidacyMessage } from './candidacy.js';
import type { SignedSnapshotMsg } from './snapshot.js';

export interface CandidacyWire {
  identityKey: Uint8Array; endpoint: string; transportKey: Uint8Array; selfStake: string; epoch: number; signature: Uint8Array;
}

export interface SyntheticSnapshotOptions {
  epoch: number;
  seats: number;
  threshold?: number;
  phaseTimeoutMs?: number;
  /** Made-up candidates (each with its own identity key and a valid candidacy signature). */
  candidates: number;
  nominations: number;
  targetsPerNomination: number;
  /** Real candidacies listed first (a node's own, from OperatorService.GetCandidacy). */
  include?: CandidacyWire[];
  /** The made-up candidates' endpoints (default: distinct loopback addresses on port 1, which refuse at once). */
  endpoint?: (i: number) => string;
}

/**
 * A distinct endpoint per index that refuses connections at once (127.77.x.y, port 1): a node that
 * calls the made-up members fails fast, and its channels close at once when it stops (an unroutable
 * address would keep a pending connect, and the process, alive for minutes).
 */
export function refusingEndpoint(i: number): string {
  return `127.77.${(i >> 8) & 255}.${(i & 255) + 1}:1`;
}

/** One candidacy signed by `key` (a test peer that must be able to sign calls as a candidate). */
export function signedCandidacy(key: { secretKey: Uint8Array; publicKey: Uint8Array }, endpoint: string, selfStake: bigint, epoch: number,
  transportKey: Uint8Array = generateTransportKeyPair().publicKey): CandidacyWire {
  const fields = { identityKey: key.publicKey, endpoint, transportKey, selfStake, epoch };
  return { ...fields, selfStake: selfStake.toString(), signature: signTagged(key.secretKey, 'candidacy', candidacyMessage(fields)) };
}

/** `n` candidacies signed by fresh identity keys (one transport key shared: only its validity is checked). */
export function syntheticCandidacies(n: number, epoch: number, endpoint = refusingEndpoint): CandidacyWire[] {
  const transportKey = generateTransportKeyPair().publicKey;
  return Array.from({ length: n }, (_, i) => signedCandidacy(generateIdentityKey(), endpoint(i), BigInt(1000 + (i % 997)), epoch, transportKey));
}

/** The Snapshot bytes: `include` and the made-up candidacies, and deterministic nominations over all of them. */
export function syntheticSnapshot(o: SyntheticSnapshotOptions): Uint8Array {
  const candidacies = [...(o.include ?? []), ...syntheticCandidacies(o.candidates, o.epoch, o.endpoint)];
  const ids = candidacies.map((c) => nodeIdOf(c.identityKey));
  const n = ids.length;
  const votes = Math.min(o.targetsPerNomination, n);
  const step = Math.max(1, Math.floor(n / votes));
  let x = 0x2545f491;
  const nominations = Array.from({ length: o.nominations }, (_, i) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return {
      voter: `v${i}`, stake: String(1_000_000 + (x % 9_000_000)),
      // Distinct targets: i, i + step, i + 2·step, ... (mod n), with step·votes <= n.
      targets: Array.from({ length: votes }, (_, j) => ids[(i + j * step) % n]!),
    };
  });
  return encodeMessage('Snapshot', {
    epoch: o.epoch, seats: o.seats, threshold: o.threshold ?? 0, candidacies, nominations,
    phaseTimeoutMs: String(o.phaseTimeoutMs ?? 0),
  });
}

/** Governance signatures (tag "snapshot") over the exact snapshot bytes. */
export function signSnapshot(snapshot: Uint8Array, keys: { secretKey: Uint8Array; publicKey: Uint8Array }[]): SignedSnapshotMsg {
  return { snapshot, signatures: keys.map((k) => ({ key: k.publicKey, signature: signTagged(k.secretKey, 'snapshot', snapshot) })) };
}
