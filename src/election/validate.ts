// Boundary checks for election input (the fixtures' JSON format) and the canonical order of a
// snapshot. The algorithms themselves keep Substrate's lenient semantics (unknown targets dropped,
// repeated targets skipped); a snapshot that reaches the node must be clean, so this file refuses
// what Substrate would silently drop, with named errors an operator can act on.
import { U64_MAX } from './arithmetic.js';
import { compareIds } from './ids.js';
import type { ElectionInput, ElectionSnapshot, ElectionVoter } from './types.js';

export type ElectionInputErrorCode =
  | 'MALFORMED'
  | 'EMPTY_SNAPSHOT'
  | 'STAKE_OUT_OF_RANGE'
  | 'DUPLICATE_CANDIDATE'
  | 'DUPLICATE_VOTER'
  | 'DUPLICATE_TARGET'
  | 'UNKNOWN_TARGET'
  | 'SEATS_OUT_OF_RANGE';

/** Invalid election input; `code` names the rule that was broken. */
export class ElectionInputError extends Error {
  override name = 'ElectionInputError';
  constructor(readonly code: ElectionInputErrorCode, message: string) {
    super(`${code}: ${message}`);
  }
}

/** Upper bound on seats, far above any committee, so a typo cannot ask for billions of rounds. */
export const MAX_SEATS = 100_000;

function fail(code: ElectionInputErrorCode, message: string): never {
  throw new ElectionInputError(code, message);
}

type IdKind = 'string' | 'number';

function readId(x: unknown, where: string, kinds: Set<IdKind>): string {
  if (typeof x === 'string') {
    if (x.length === 0 || x.length > 256) fail('MALFORMED', `${where}: id must be a non-empty string of at most 256 characters`);
    kinds.add('string');
    if (kinds.size > 1) fail('MALFORMED', `${where}: ids mix JSON strings and numbers`);
    return x;
  }
  if (typeof x === 'number') {
    if (!Number.isSafeInteger(x) || x < 0) fail('MALFORMED', `${where}: numeric id must be a non-negative safe integer`);
    kinds.add('number');
    if (kinds.size > 1) fail('MALFORMED', `${where}: ids mix JSON strings and numbers`);
    return String(x);
  }
  return fail('MALFORMED', `${where}: id must be a string or a non-negative integer`);
}

/** A u64 stake: decimal string (or safe integer) in [0, 2^64 - 1]. */
export function parseStake(x: unknown, where: string): bigint {
  let v: bigint;
  if (typeof x === 'string' && /^[0-9]{1,40}$/.test(x)) v = BigInt(x);
  else if (typeof x === 'number' && Number.isSafeInteger(x)) v = BigInt(x);
  else if (typeof x === 'string' && /^-[0-9]+$/.test(x)) v = -1n;
  else return fail('MALFORMED', `${where}: stake must be a decimal string`);
  if (v < 0n || v > U64_MAX) fail('STAKE_OUT_OF_RANGE', `${where}: stake ${String(x)} is outside u64 [0, 18446744073709551615]`);
  return v;
}

/**
 * Checks `json` (the fixtures' input format: `{seats, candidates: [id...], voters: [[id, "stake",
 * [target...]]...]}`, extra fields ignored) and returns it as an `ElectionInput`, order unchanged.
 * Refuses: an empty candidate or voter list, stakes outside u64, duplicate candidate or voter
 * ids, a target repeated within one vote, votes for unknown candidates, seats outside
 * [1, min(candidates, MAX_SEATS)], and ids mixing JSON strings and numbers.
 */
export function validateElectionInput(json: unknown): ElectionInput {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('MALFORMED', 'input must be a JSON object');
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o.candidates)) fail('MALFORMED', '`candidates` must be an array');
  if (!Array.isArray(o.voters)) fail('MALFORMED', '`voters` must be an array');
  if (o.candidates.length === 0) fail('EMPTY_SNAPSHOT', 'there are no candidates');
  if (o.voters.length === 0) fail('EMPTY_SNAPSHOT', 'there are no voters');

  const kinds = new Set<IdKind>();
  const candidates: string[] = [];
  const candidateSet = new Set<string>();
  o.candidates.forEach((c, i) => {
    const id = readId(c, `candidates[${i}]`, kinds);
    if (candidateSet.has(id)) fail('DUPLICATE_CANDIDATE', `candidate ${id} appears more than once`);
    candidateSet.add(id);
    candidates.push(id);
  });

  const voters: ElectionVoter[] = [];
  const voterSet = new Set<string>();
  o.voters.forEach((v, i) => {
    const where = `voters[${i}]`;
    if (!Array.isArray(v) || v.length !== 3) fail('MALFORMED', `${where} must be [id, "stake", [targets...]]`);
    const id = readId(v[0], where, kinds);
    if (voterSet.has(id)) fail('DUPLICATE_VOTER', `voter ${id} appears more than once`);
    voterSet.add(id);
    const stake = parseStake(v[1], `${where} (voter ${id})`);
    if (!Array.isArray(v[2])) fail('MALFORMED', `${where}: targets must be an array`);
    const seen = new Set<string>();
    const targets = (v[2] as unknown[]).map((t, k) => {
      const tid = readId(t, `${where} target ${k}`, kinds);
      if (seen.has(tid)) fail('DUPLICATE_TARGET', `voter ${id} votes for ${tid} more than once`);
      if (!candidateSet.has(tid)) fail('UNKNOWN_TARGET', `voter ${id} votes for ${tid}, which is not a candidate`);
      seen.add(tid);
      return tid;
    });
    voters.push({ id, stake, targets });
  });

  const seats = o.seats;
  if (typeof seats !== 'number' || !Number.isInteger(seats) || seats < 1 || seats > Math.min(candidates.length, MAX_SEATS)) {
    fail('SEATS_OUT_OF_RANGE', `seats must be an integer in [1, ${Math.min(candidates.length, MAX_SEATS)}] (the number of candidates), got ${String(seats)}`);
  }
  return { seats, candidates, voters, idKind: kinds.has('number') ? 'number' : 'string' };
}

/**
 * The canonical order of a snapshot, so that the same set of candidacies and nominations gives the
 * same committee however it was assembled: candidates sorted by id (this is also the tie-break
 * order: on equal score the smaller id wins) and voters sorted by id (the order normalisation and
 * balancing walk). A voter's targets keep their vote order: it is part of the nomination.
 * Ids are ordered by `compareIds`: decimal ids by value first, then the rest by code unit.
 */
export function canonicalize<T extends ElectionSnapshot>(snapshot: T): T {
  return {
    ...snapshot,
    candidates: snapshot.candidates.slice().sort(compareIds),
    voters: snapshot.voters.slice().sort((a, b) => compareIds(a.id, b.id)),
  };
}
