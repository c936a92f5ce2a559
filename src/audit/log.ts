// Append-only, hash-chained audit log: entry i commits to entry i-1, so removing or editing any row
// breaks verification from that row on. SQLite triggers refuse UPDATE and DELETE as a second guard.
import { sha256 } from '@noble/hashes/sha2.js';
import type { Db } from '../store/database.js';
import { concatBytes, equalBytes, lp, u64be, utf8 } from '../crypto/bytes.js';

export interface AuditEntry {
  seq: number;
  timeMs: number;
  actor: string;
  action: string;
  detailJson: string;
  prevHash: Uint8Array;
  hash: Uint8Array;
}

const GENESIS_HASH = new Uint8Array(32);


/** hash_i = SHA-256("gatekeeper/v1/audit" || prev || u64be(seq) || u64be(time) || lp(actor) || lp(action) || lp(detail)). */
export function entryHash(e: Omit<AuditEntry, 'hash'>): Uint8Array {
  return sha256(concatBytes(
    utf8('gatekeeper/v1/audit'), e.prevHash, u64be(BigInt(e.seq)), u64be(BigInt(e.timeMs)),
    lp(utf8(e.actor)), lp(utf8(e.action)), lp(utf8(e.detailJson)),
  ));
}

interface Row { seq: number; time_ms: number; actor: string; action: string; detail_json: string; prev_hash: Buffer; hash: Buffer }

const toEntry = (r: Row): AuditEntry => ({
  seq: r.seq, timeMs: r.time_ms, actor: r.actor, action: r.action, detailJson: r.detail_json,
  prevHash: new Uint8Array(r.prev_hash), hash: new Uint8Array(r.hash),
});

export class AuditLog {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Appends one entry. `detail` must hold no secret: callers pass ids, hashes and public keys only. */
  append(actor: string, action: string, detail: Record<string, unknown> = {}): AuditEntry {
    return this.db.transaction(() => {
      const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
        { seq: number; hash: Buffer } | undefined;
      const partial = {
        seq: last ? last.seq + 1 : 1,
        timeMs: this.now(),
        actor,
        action,
        detailJson: JSON.stringify(detail),
        prevHash: last ? new Uint8Array(last.hash) : GENESIS_HASH,
      };
      const entry = { ...partial, hash: entryHash(partial) };
      this.db.prepare('INSERT INTO audit (seq, time_ms, actor, action, detail_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(entry.seq, entry.timeMs, actor, action, entry.detailJson, entry.prevHash, entry.hash);
      return entry;
    })();
  }

  read(afterSeq: number, limit: number): AuditEntry[] {
    const rows = this.db.prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as Row[];
    return rows.map(toEntry);
  }
}

export type AuditVerification = { ok: true; entries: number; head: Uint8Array } | { ok: false; seq: number; error: string };

/** Walks the chain from the first entry; reports the first entry that does not fit. */
export function verifyAuditChain(entries: Iterable<AuditEntry>): AuditVerification {
  let prev: Uint8Array = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  for (const e of entries) {
    if (e.seq !== expectedSeq) return { ok: false, seq: e.seq, error: `entry ${e.seq} follows entry ${expectedSeq - 1}: entries are missing` };
    if (!equalBytes(e.prevHash, prev)) return { ok: false, seq: e.seq, error: `entry ${e.seq} does not link to the entry before it` };
    if (!equalBytes(entryHash(e), e.hash)) return { ok: false, seq: e.seq, error: `entry ${e.seq} was altered: its hash does not match its contents` };
    prev = e.hash;
    expectedSeq++;
    count++;
  }
  return { ok: true, entries: count, head: prev };
}

/** Every entry of a database, in order (for `gatekeeper audit verify` on a stopped node). */
export function* allAuditEntries(db: Db): Generator<AuditEntry> {
  for (const r of db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<Row>) yield toEntry(r);
}

