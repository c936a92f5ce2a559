// The files an operator assembles a snapshot from (docs/election-input.md): candidacy files (one per
// node, as `gatekeeper candidacy get` writes them) and a nominations file. Both are checked here with
// messages that name the file and the entry; the node checks the snapshot again on submission.
import fs from 'node:fs';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { verifyTagged } from '../crypto/identity.js';
import { candidacyMessage } from '../committee/candidacy.js';
import { nodeIdOf } from '../node/identity.js';
import { UsageError } from './args.js';

export const CANDIDACY_FORMAT = 'gatekeeper-candidacy/1';
export const NOMINATIONS_FORMAT = 'gatekeeper-nominations/1';

/** A candidacy as the Snapshot message carries it (identity_key, endpoint, transport_key, self_stake, epoch, signature). */
export interface CandidacyMsg { identityKey: Uint8Array; endpoint: string; transportKey: Uint8Array; selfStake: string; epoch: number; signature: Uint8Array }
export interface NominationMsg { voter: string; stake: string; targets: Uint8Array[] }

const U64 = /^(0|[1-9][0-9]{0,19})$/;
const MAX_FILE = 16 * 1024 * 1024;

function readJson(file: string, what: string): Record<string, unknown> {
  try {
    if (fs.statSync(file).size > MAX_FILE) throw new UsageError(`${what} ${file} is larger than ${MAX_FILE} bytes`);
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`${what} ${file} must hold a JSON object`);
    return v as Record<string, unknown>;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message.slice(0, 100)}`);
  }
}

function hex(v: unknown, what: string, len: number): Uint8Array {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${2 * len}}$`).test(v)) throw new UsageError(`${what} must be ${len} bytes of lowercase hex`);
  return hexToBytes(v);
}

export function candidacyJson(c: CandidacyMsg): Record<string, unknown> {
  return {
    format: CANDIDACY_FORMAT, nodeId: bytesToHex(nodeIdOf(c.identityKey)), identityKey: bytesToHex(c.identityKey), endpoint: c.endpoint,
    transportKey: bytesToHex(c.transportKey), selfStake: c.selfStake, epoch: c.epoch, signature: bytesToHex(c.signature),
  };
}

/** Reads a candidacy file and checks its signature (so a corrupted file is caught before signing). */
export function readCandidacy(file: string): CandidacyMsg {
  const o = readJson(file, 'candidacy file');
  if (o.format !== CANDIDACY_FORMAT) throw new UsageError(`${file} is not a candidacy file (expected "format": "${CANDIDACY_FORMAT}")`);
  const c: CandidacyMsg = {
    identityKey: hex(o.identityKey, `${file}: identityKey`, 32), transportKey: hex(o.transportKey, `${file}: transportKey`, 65),
    signature: hex(o.signature, `${file}: signature`, 64), endpoint: String(o.endpoint ?? ''), selfStake: String(o.selfStake ?? ''), epoch: Number(o.epoch),
  };
  if (typeof o.endpoint !== 'string' || c.endpoint.length === 0 || c.endpoint.length > 255) throw new UsageError(`${file}: endpoint must be 1 to 255 characters`);
  if (!U64.test(c.selfStake)) throw new UsageError(`${file}: selfStake must be a decimal unsigned 64-bit integer`);
  if (!Number.isInteger(c.epoch) || c.epoch < 1) throw new UsageError(`${file}: epoch must be a positive integer`);
  const fields = { identityKey: c.identityKey, endpoint: c.endpoint, transportKey: c.transportKey, selfStake: BigInt(c.selfStake), epoch: c.epoch };
  if (!verifyTagged(c.identityKey, 'candidacy', candidacyMessage(fields), c.signature)) {
    throw new UsageError(`${file}: the candidacy signature does not verify (the file was changed after the node signed it)`);
  }
  return c;
}

/** Reads a nominations file: {"format", "nominations": [{"voter", "stake", "targets": [node id hex]}]}. */
export function readNominations(file: string): NominationMsg[] {
  const o = readJson(file, 'nominations file');
  if (o.format !== NOMINATIONS_FORMAT) throw new UsageError(`${file} is not a nominations file (expected "format": "${NOMINATIONS_FORMAT}")`);
  for (const k of Object.keys(o)) if (k !== 'format' && k !== 'nominations') throw new UsageError(`${file}: unknown field '${k.slice(0, 40)}'`);
  if (!Array.isArray(o.nominations)) throw new UsageError(`${file}: "nominations" must be a list`);
  return o.nominations.map((n: unknown, i) => {
    const what = `${file}: nominations[${i}]`;
    if (typeof n !== 'object' || n === null) throw new UsageError(`${what} must be an object`);
    const e = n as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!['voter', 'stake', 'targets'].includes(k)) throw new UsageError(`${what}: unknown field '${k.slice(0, 40)}'`);
    if (typeof e.voter !== 'string' || e.voter.length === 0 || e.voter.length > 64) throw new UsageError(`${what}.voter must be 1 to 64 characters`);
    if (typeof e.stake !== 'string' || !U64.test(e.stake)) throw new UsageError(`${what}.stake must be a decimal string (unsigned 64-bit)`);
    if (!Array.isArray(e.targets) || e.targets.length === 0) throw new UsageError(`${what}.targets must list at least one node id`);
    return { voter: e.voter, stake: e.stake, targets: e.targets.map((t, j) => hex(t, `${what}.targets[${j}] (a node id)`, 16)) };
  });
}
