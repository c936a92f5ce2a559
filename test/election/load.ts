// Test helpers: read the election fixtures (../shared/fixtures/election) into the library's types.
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../helpers/shared.js';
import type { ElectionInput, ElectionSnapshot } from '../../src/election/types.js';

export const ELECTION_DIR = path.join(FIXTURES_DIR, 'election');

export function readJson(name: string): any {
  return JSON.parse(fs.readFileSync(path.join(ELECTION_DIR, name), 'utf8'));
}

/** `[[id, "stake", [targets]]...]` with numeric ids, as in the fixtures and the vectors. */
export function snapshotOf(candidates: number[], voters: Array<[number, string, number[]]>): ElectionSnapshot {
  return {
    candidates: candidates.map(String),
    voters: voters.map(([id, stake, targets]) => ({ id: String(id), stake: BigInt(stake), targets: targets.map(String) })),
  };
}

export function inputOf(json: any): ElectionInput {
  return { ...snapshotOf(json.candidates, json.voters), seats: json.seats, idKind: 'number' };
}

/** Fixture instances: every `*.input.json` with its `*.expected.json`. */
export function fixtureNames(): string[] {
  return fs.readdirSync(ELECTION_DIR).filter((f) => f.endsWith('.input.json')).map((f) => f.replace(/\.input\.json$/, '')).sort();
}
