// Verifying a governance-signed election snapshot and electing the committee from it (DESIGN §3.1–3.2).
// Pure: the same snapshot bytes always give the same roster, on every node.
import { createHash } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { verifyTagged } from '../crypto/identity.js';
import { decodeMessage } from '../rpc/messages.js';
import { nodeIdOf } from '../node/identity.js';
import { candidacyMessage } from './candidacy.js';
import { defaultThreshold } from './roster.js';
import { electCommittee } from '../election/index.js';

export class SnapshotError extends Error {
  override name = 'SnapshotError';
  /** invalid: bad input; unauthorized: governance refused it; exhausted: over this node's caps. */
  constructor(message: string, readonly kind: 'invalid' | 'unauthorized' | 'exhausted' = 'invalid') {
    super(message);
  }
}

interface CandidacyMsg { identityKey: Uint8Array; endpoint: string; transportKey: Uint8Array; selfStake: string; epoch: number; signature: Uint8Array }
interface NominationMsg { voter: string; stake: string; targets: Uint8Array[] }
interface SnapshotMsg { epoch: number; seats: number; threshold: number; candidacies: CandidacyMsg[]; nominations: NominationMsg[]; phaseTimeoutMs: string }
export interface SignedSnapshotMsg { snapshot: Uint8Array; signatures: { key: Uint8Array; signature: Uint8Array }[] }

export interface Candidate {
  nodeId: Uint8Array;
  identityKey: Uint8Array;
  transportKey: Uint8Array;
  endpoint: string;
  selfStake: bigint;
}

export interface ElectedMember extends Candidate {
  stake: bigint;  // backed stake from the election
}

export interface ElectionOutcome {
  epoch: number;
  snapshotHash: Uint8Array;
  threshold: number;
  phaseTimeoutMs: number;
  candidates: Candidate[];
  members: ElectedMember[];   // sorted by node id
}

const U64_MAX = 0xffffffffffffffffn;

function u64(text: string, what: string): bigint {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text)) throw new SnapshotError(`${what} must be a decimal unsigned 64-bit integer`);
  const v = BigInt(text);
  if (v > U64_MAX) throw new SnapshotError(`${what} is larger than 2^64-1`);
  return v;
}

/** SHA-256 of the snapshot bytes: what votes and ceremonies refer to (node:crypto: snapshots reach megabytes). */
export function snapshotHash(snapshotBytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(snapshotBytes).digest());
}

/** At most this many governance signatures are looked at: a snapshot needs `threshold` of them. */
export const MAX_GOVERNANCE_SIGNATURES = 32;

/**
 * Checks that `threshold` distinct governance keys from `governanceKeys` signed the snapshot bytes.
 * Works on the raw bytes only (nothing of the snapshot is decoded), and verifies each configured key
 * at most once, so its cost is bounded by the number of configured keys whatever the caller sends.
 */
export function verifyGovernance(signed: SignedSnapshotMsg, governanceKeys: string[], threshold: number): void {
  if (governanceKeys.length === 0) throw new SnapshotError('this node has no governance keys configured', 'unauthorized');
  if (signed.signatures.length > MAX_GOVERNANCE_SIGNATURES) {
    throw new SnapshotError(`the snapshot carries ${signed.signatures.length} governance signatures; at most ${MAX_GOVERNANCE_SIGNATURES} are accepted`, 'exhausted');
  }
  const allowed = new Set(governanceKeys);
  const tried = new Set<string>();
  const good = new Set<string>();
  for (const s of signed.signatures) {
    if (!(s.key instanceof Uint8Array) || s.key.length !== 32) continue;
    const key = bytesToHex(s.key);
    if (!allowed.has(key) || tried.has(key)) continue;
    tried.add(key);
    if (verifyTagged(s.key, 'snapshot', signed.snapshot, s.signature)) good.add(key);
  }
  if (good.size < threshold) {
    throw new SnapshotError(`the snapshot carries ${good.size} valid governance signature(s); ${threshold} are required`, 'unauthorized');
  }
}

/** Decodes and checks the snapshot, verifies every candidacy, and runs the election. */
export function electFromSnapshot(snapshotBytes: Uint8Array): ElectionOutcome {
  let snap: SnapshotMsg;
  try {
    snap = decodeMessage<SnapshotMsg>('Snapshot', snapshotBytes);
  } catch {
    throw new SnapshotError('the snapshot bytes are not a valid Snapshot message');
  }
  if (snap.epoch < 1) throw new SnapshotError('snapshot epoch must be at least 1');
  if (snap.candidacies.length < 2) throw new SnapshotError('a snapshot needs at least two candidacies');
  if (snap.seats < 2 || snap.seats > snap.candidacies.length) {
    throw new SnapshotError(`seats must be between 2 and the number of candidates (${snap.candidacies.length}), got ${snap.seats}`);
  }
  const candidates: Candidate[] = [];
  const byNodeId = new Map<string, Candidate>();
  const endpoints = new Set<string>();
  snap.candidacies.forEach((c, i) => {
    const what = `candidacy ${i}`;
    if (c.identityKey.length !== 32) throw new SnapshotError(`${what}: identity key must be 32 bytes`);
    if (c.transportKey.length !== 65) throw new SnapshotError(`${what}: transport key must be 65 bytes (uncompressed)`);
    try { secp256k1.Point.fromBytes(c.transportKey); } catch { throw new SnapshotError(`${what}: transport key is not a valid secp256k1 point`); }
    if (c.endpoint.length === 0 || c.endpoint.length > 255) throw new SnapshotError(`${what}: endpoint must be 1 to 255 characters`);
    if (c.epoch !== snap.epoch) throw new SnapshotError(`${what}: signed for epoch ${c.epoch}, the snapshot is for epoch ${snap.epoch}`);
    const selfStake = u64(c.selfStake, `${what}: self stake`);
    const fields = { identityKey: c.identityKey, endpoint: c.endpoint, transportKey: c.transportKey, selfStake, epoch: c.epoch };
    if (!verifyTagged(c.identityKey, 'candidacy', candidacyMessage(fields), c.signature)) {
      throw new SnapshotError(`${what}: the candidacy signature does not verify under its identity key`);
    }
    const nodeId = nodeIdOf(c.identityKey);
    const id = bytesToHex(nodeId);
    if (byNodeId.has(id)) throw new SnapshotError(`${what}: duplicate candidate ${id}`);
    if (endpoints.has(c.endpoint)) throw new SnapshotError(`${what}: endpoint ${c.endpoint} is used by two candidates`);
    endpoints.add(c.endpoint);
    const cand = { nodeId, identityKey: new Uint8Array(c.identityKey), transportKey: new Uint8Array(c.transportKey), endpoint: c.endpoint, selfStake };
    byNodeId.set(id, cand);
    candidates.push(cand);
  });

  // Election input: one self vote per candidate, then the nominations; ids are hex node ids.
  const voters: { id: string; stake: bigint; targets: string[] }[] = candidates.map((c) => {
    const id = bytesToHex(c.nodeId);
    return { id: `self:${id}`, stake: c.selfStake, targets: [id] };
  });
  const voterIds = new Set(voters.map((v) => v.id));
  snap.nominations.forEach((n, i) => {
    const what = `nomination ${i}`;
    if (n.voter.length === 0 || n.voter.length > 64) throw new SnapshotError(`${what}: voter id must be 1 to 64 characters`);
    if (n.voter.startsWith('self:')) throw new SnapshotError(`${what}: voter ids starting with 'self:' are reserved`);
    if (voterIds.has(n.voter)) throw new SnapshotError(`${what}: duplicate voter ${n.voter}`);
    voterIds.add(n.voter);
    const stake = u64(n.stake, `${what}: stake`);
    const targets = n.targets.map((t) => {
      const id = bytesToHex(t);
      if (!byNodeId.has(id)) throw new SnapshotError(`${what}: target ${id} is not a candidate`);
      return id;
    });
    voters.push({ id: n.voter, stake, targets });
  });

  let elected: { id: string; backedStake: bigint }[];
  try {
    elected = electCommittee({ candidates: [...byNodeId.keys()], voters }, snap.seats).members;
  } catch (err) {
    throw new SnapshotError(`the election failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (elected.length < 2) throw new SnapshotError(`only ${elected.length} candidate(s) have backing stake; a committee needs at least two`);
  const members: ElectedMember[] = elected
    .map((w) => ({ ...byNodeId.get(w.id)!, stake: w.backedStake }))
    .sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
  const n = members.length;
  const threshold = snap.threshold === 0 ? defaultThreshold(n) : snap.threshold;
  if (threshold < 2 || threshold > n) throw new SnapshotError(`threshold ${threshold} is outside 2..${n} for ${n} elected members`);
  return {
    epoch: snap.epoch,
    snapshotHash: snapshotHash(snapshotBytes),
    threshold,
    phaseTimeoutMs: Number(snap.phaseTimeoutMs),
    candidates,
    members,
  };
}
