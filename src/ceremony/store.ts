// The ceremony engine's SQLite tables (migration 8): one record per ceremony, every signed message by
// (ceremony, phase, sender, recipient), one vote per epoch. The protocol state is stored sealed.
import { statementCache, type Db } from '../store/database.js';
import { BoundedCache } from '../util/bounded-cache.js';
import type { EngineState } from './state.js';

/** `name`, if given, is how errors and audit entries name the member (genesis: its node id); default the id. */
export interface MemberInfo { id: string; endpoint: string; transportKey: string; name?: string }

export interface EngineRecord {
  id: string;
  kind: string;
  epoch: number;
  status: EngineState;
  phase: string;
  members: MemberInfo[];
  sealedState: Uint8Array;
  phaseDeadlineMs: number;
  phaseTimeoutMs: number;
  error: string;
  culprit: string;
  updatedMs: number;
}

/** One signed message; recipient '*' is a broadcast; body is HPKE-sealed unless broadcast. */
export interface StoredMessage { ceremony: string; phase: string; sender: string; recipient: string; body: Uint8Array; signature: Uint8Array }

export interface VoteRow { epoch: number; snapshotHash: Uint8Array; rosterHash: Uint8Array; signature: Uint8Array }

// Every column but the sealed state, which can be a few hundred kilobytes (a hand-off's dealings) and is
// read only when used, through the store's cache: status reads, long polls and every tick's step read
// the record, and copying the state out of SQLite each time was a tenth of a hand-off member's CPU.
const HEAD = 'id, kind, epoch, status, phase, members_json, phase_deadline_ms, phase_timeout_ms, error, culprit, updated_ms, length(sealed_state) AS sealed_length';
interface Row {
  id: string; kind: string; epoch: number; status: string; phase: string; members_json: string; sealed_length: number;
  phase_deadline_ms: number; phase_timeout_ms: number; error: string; culprit: string; updated_ms: number;
}
/** What a cached sealed state was read or written with; a row that differs was written by someone else. */
const fingerprint = (r: { status: string; phase: string; updatedMs: number; length: number }) => `${r.status}/${r.phase}/${r.updatedMs}/${r.length}`;
/**
 * Sealed states kept in memory (sealed: the cache holds no secret in the clear). A write drops its
 * entry (the next read takes what committed, so a rolled-back write is never served from memory).
 */
const SEALED_KEPT = 16;

export class EngineStore {
  private readonly sql: ReturnType<typeof statementCache>;
  private readonly sealed = new BoundedCache<{ fingerprint: string; bytes: Uint8Array }>(SEALED_KEPT);
  constructor(readonly db: Db) {
    this.sql = statementCache(db);
  }

  /** A record whose sealed state is read (through the cache) only when something reads `sealedState`. */
  private toRecord(r: Row): EngineRecord {
    const head = {
      id: r.id, kind: r.kind, epoch: r.epoch, status: r.status as EngineState, phase: r.phase, members: JSON.parse(r.members_json) as MemberInfo[],
      phaseDeadlineMs: r.phase_deadline_ms, phaseTimeoutMs: r.phase_timeout_ms, error: r.error, culprit: r.culprit, updatedMs: r.updated_ms,
    };
    let sealed: Uint8Array | undefined;
    return Object.defineProperty(head, 'sealedState', { enumerable: true, get: () => (sealed ??= this.sealedState(r)) }) as EngineRecord;
  }

  private sealedState(r: Row): Uint8Array {
    const fp = fingerprint({ status: r.status, phase: r.phase, updatedMs: r.updated_ms, length: r.sealed_length });
    const kept = this.sealed.get(r.id);
    if (kept?.fingerprint === fp) return kept.bytes;
    const row = this.sql('SELECT sealed_state, status, phase, updated_ms FROM engine_ceremonies WHERE id = ?').get(r.id) as
      { sealed_state: Buffer; status: string; phase: string; updated_ms: number };
    const bytes = new Uint8Array(row.sealed_state.buffer, row.sealed_state.byteOffset, row.sealed_state.byteLength);
    // Read later than the record's other columns (the field is lazy): kept only under the fingerprint it has.
    this.sealed.set(r.id, { fingerprint: fingerprint({ status: row.status, phase: row.phase, updatedMs: row.updated_ms, length: bytes.byteLength }), bytes });
    return bytes;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  get(id: string): EngineRecord | undefined {
    const r = this.sql(`SELECT ${HEAD} FROM engine_ceremonies WHERE id = ?`).get(id) as Row | undefined;
    return r ? this.toRecord(r) : undefined;
  }

  running(): EngineRecord[] {
    return (this.sql(`SELECT ${HEAD} FROM engine_ceremonies WHERE status = 'RUNNING' ORDER BY epoch, id`).all() as Row[]).map((r) => this.toRecord(r));
  }

  /** Read-only, for status views: the newest ceremony of `epoch`, or of the newest epoch when `epoch` is 0. */
  newest(epoch = 0): EngineRecord | undefined {
    const r = (epoch === 0
      ? this.sql(`SELECT ${HEAD} FROM engine_ceremonies ORDER BY epoch DESC, updated_ms DESC, rowid DESC LIMIT 1`).get()
      : this.sql(`SELECT ${HEAD} FROM engine_ceremonies WHERE epoch = ? ORDER BY updated_ms DESC, rowid DESC LIMIT 1`).get(epoch)) as Row | undefined;
    return r ? this.toRecord(r) : undefined;
  }

  ofKind(kind: string): EngineRecord[] {
    return (this.sql(`SELECT ${HEAD} FROM engine_ceremonies WHERE kind = ? ORDER BY epoch, id`).all(kind) as Row[]).map((r) => this.toRecord(r));
  }

  insert(c: EngineRecord): void {
    this.sql(`INSERT INTO engine_ceremonies (id, kind, epoch, status, phase, members_json, sealed_state, phase_deadline_ms,
        phase_timeout_ms, error, culprit, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(c.id, c.kind, c.epoch, c.status, c.phase, JSON.stringify(c.members), c.sealedState, c.phaseDeadlineMs, c.phaseTimeoutMs,
        c.error, c.culprit, c.updatedMs);
    this.sealed.delete(c.id);
  }

  /** Compare-and-set on (status, phase): refuses to overwrite a move another writer made meanwhile. */
  update(c: EngineRecord, expected: { status: EngineState; phase: string }): void {
    const r = this.sql(`UPDATE engine_ceremonies SET status = ?, phase = ?, sealed_state = ?, phase_deadline_ms = ?, error = ?, culprit = ?,
        updated_ms = ? WHERE id = ? AND status = ? AND phase = ?`)
      .run(c.status, c.phase, c.sealedState, c.phaseDeadlineMs, c.error, c.culprit, c.updatedMs, c.id, expected.status, expected.phase);
    if (r.changes !== 1) throw new Error(`ceremony ${c.id} changed concurrently (expected ${expected.status}/${expected.phase})`);
    this.sealed.delete(c.id);
  }

  putMessage(m: StoredMessage): void {
    this.sql('INSERT OR IGNORE INTO engine_messages (ceremony, phase, sender, recipient, body, signature) VALUES (?, ?, ?, ?, ?, ?)')
      .run(m.ceremony, m.phase, m.sender, m.recipient, m.body, m.signature);
  }

  /** The message `sender` made in `phase` for `recipient`, or its broadcast. */
  message(ceremony: string, phase: string, sender: string, recipient: string): StoredMessage | undefined {
    const r = this.sql(`SELECT * FROM engine_messages WHERE ceremony = ? AND phase = ? AND sender = ? AND recipient IN (?, '*')
        ORDER BY recipient = '*' LIMIT 1`).get(ceremony, phase, sender, recipient) as
      { ceremony: string; phase: string; sender: string; recipient: string; body: Buffer; signature: Buffer } | undefined;
    return r && { ...r, body: new Uint8Array(r.body), signature: new Uint8Array(r.signature) };
  }

  /** Who has a message of `phase` for `recipient` (addressed to it, or a broadcast) stored: one query, no bodies. */
  senders(ceremony: string, phase: string, recipient: string): Set<string> {
    const rows = this.sql(`SELECT sender FROM engine_messages WHERE ceremony = ? AND phase = ? AND recipient IN (?, '*')`)
      .all(ceremony, phase, recipient) as { sender: string }[];
    return new Set(rows.map((r) => r.sender));
  }

  vote(epoch: number): VoteRow | undefined {
    const r = this.sql('SELECT * FROM engine_votes WHERE epoch = ?').get(epoch) as
      { epoch: number; snapshot_hash: Buffer; roster_hash: Buffer; signature: Buffer } | undefined;
    return r && { epoch: r.epoch, snapshotHash: new Uint8Array(r.snapshot_hash), rosterHash: new Uint8Array(r.roster_hash), signature: new Uint8Array(r.signature) };
  }

  putVote(v: VoteRow): void {
    this.sql('INSERT INTO engine_votes (epoch, snapshot_hash, roster_hash, signature) VALUES (?, ?, ?, ?)').run(v.epoch, v.snapshotHash, v.rosterHash, v.signature);
  }
}
