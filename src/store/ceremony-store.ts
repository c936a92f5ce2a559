// Persistence of committee ceremonies (epoch, snapshot, roster, k, state), key shares and roster
// certificates; the DKG's own messages and state live in the engine's tables (src/ceremony/store.ts).
// Secret values go through the SecretBox (sealed columns); everything else here is public protocol data.
import { statementCache, type Db } from './database.js';
import type { CeremonyState } from '../committee/genesis-state.js';

export interface RosterEntryJson {
  nodeId: string; identityKey: string; transportKey: string; endpoint: string; stake: string; shareIdentifier: string;
}

/** genesis (DKG), handoff (an election round after genesis), refresh (a hand-off to the same roster). */
export type CeremonyKind = 'genesis' | 'handoff' | 'refresh';

export interface CeremonyRecord {
  epoch: number;
  kind: CeremonyKind;
  state: CeremonyState;
  snapshot: Uint8Array;        // SignedSnapshot bytes
  snapshotHash: Uint8Array;
  roster: RosterEntryJson[];   // elected members sorted by node id
  threshold: number;
  phaseDeadlineMs: number;
  phaseTimeoutMs: number;
  error: string;
  updatedMs: number;
}

interface CeremonyRow {
  epoch: number; kind: string; state: string; snapshot: Buffer; snapshot_hash: Buffer; roster_json: string;
  threshold: number; phase_deadline_ms: number; phase_timeout_ms: number; error: string; updated_ms: number;
}

const toRecord = (r: CeremonyRow): CeremonyRecord => ({
  epoch: r.epoch, kind: r.kind as CeremonyKind, state: r.state as CeremonyState, snapshot: new Uint8Array(r.snapshot),
  snapshotHash: new Uint8Array(r.snapshot_hash), roster: JSON.parse(r.roster_json) as RosterEntryJson[],
  threshold: r.threshold, phaseDeadlineMs: r.phase_deadline_ms, phaseTimeoutMs: r.phase_timeout_ms, error: r.error,
  updatedMs: r.updated_ms,
});

export class CeremonyStore {
  private readonly sql: ReturnType<typeof statementCache>;

  constructor(readonly db: Db) {
    this.sql = statementCache(db);
  }

  get(epoch: number): CeremonyRecord | undefined {
    const r = this.sql('SELECT * FROM ceremonies WHERE epoch = ?').get(epoch) as CeremonyRow | undefined;
    return r ? toRecord(r) : undefined;
  }

  latest(): CeremonyRecord | undefined {
    const r = this.sql('SELECT * FROM ceremonies ORDER BY epoch DESC LIMIT 1').get() as CeremonyRow | undefined;
    return r ? toRecord(r) : undefined;
  }

  /**
   * The active committee: the newest COMPLETE ceremony with a stored roster certificate and this
   * node's key shares. Never simply the newest ceremony: one in progress or aborted must not hide it.
   */
  latestCertifiedWithShares(): CeremonyRecord | undefined {
    const r = this.sql(`SELECT c.* FROM ceremonies c JOIN certificates t ON t.epoch = c.epoch JOIN key_shares k ON k.epoch = c.epoch
        WHERE c.state = 'COMPLETE' ORDER BY c.epoch DESC LIMIT 1`).get() as CeremonyRow | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** The newest COMPLETE (certified) ceremony, whether or not this node holds shares in it. */
  latestCertified(): CeremonyRecord | undefined {
    const r = this.sql(`SELECT c.* FROM ceremonies c JOIN certificates t ON t.epoch = c.epoch
        WHERE c.state = 'COMPLETE' ORDER BY c.epoch DESC LIMIT 1`).get() as CeremonyRow | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** Ceremonies not yet COMPLETE or ABORTED (resumed after a restart). */
  running(): CeremonyRecord[] {
    const rows = this.sql(`SELECT * FROM ceremonies WHERE state NOT IN ('COMPLETE', 'ABORTED') ORDER BY epoch`).all() as CeremonyRow[];
    return rows.map(toRecord);
  }

  insert(c: CeremonyRecord): void {
    this.sql(`INSERT INTO ceremonies (epoch, kind, state, snapshot, snapshot_hash, roster_json, threshold,
        phase_deadline_ms, phase_timeout_ms, error, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(c.epoch, c.kind, c.state, c.snapshot, c.snapshotHash, JSON.stringify(c.roster), c.threshold,
        c.phaseDeadlineMs, c.phaseTimeoutMs, c.error, c.updatedMs);
  }

  /** Saves a state change; refuses to overwrite a state another writer changed meanwhile. */
  update(c: CeremonyRecord, expectedState: CeremonyState): void {
    const r = this.sql(`UPDATE ceremonies SET state = ?, phase_deadline_ms = ?, error = ?, updated_ms = ?
        WHERE epoch = ? AND state = ?`).run(c.state, c.phaseDeadlineMs, c.error, c.updatedMs, c.epoch, expectedState);
    if (r.changes !== 1) throw new Error(`ceremony ${c.epoch} changed state concurrently (expected ${expectedState})`);
  }

  saveKeyShares(epoch: number, shareIdentifier: Uint8Array, sealedShares: Uint8Array, publicJson: string): void {
    this.sql('INSERT INTO key_shares (epoch, share_identifier, sealed_shares, public_json) VALUES (?, ?, ?, ?)')
      .run(epoch, shareIdentifier, sealedShares, publicJson);
  }

  keyShares(epoch: number): { shareIdentifier: Uint8Array; sealedShares: Uint8Array; publicJson: string } | undefined {
    const r = this.sql('SELECT * FROM key_shares WHERE epoch = ?').get(epoch) as
      { share_identifier: Buffer; sealed_shares: Buffer; public_json: string } | undefined;
    return r ? { shareIdentifier: new Uint8Array(r.share_identifier), sealedShares: new Uint8Array(r.sealed_shares), publicJson: r.public_json } : undefined;
  }

  /** Erases the key shares of an epoch whose ceremony aborted (they belong to no committee). */
  eraseKeyShares(epoch: number): void {
    this.sql('DELETE FROM key_shares WHERE epoch = ?').run(epoch);
  }

  saveCertificate(epoch: number, rosterBytes: Uint8Array, signature: Uint8Array): void {
    this.sql('INSERT OR IGNORE INTO certificates (epoch, roster_bytes, signature) VALUES (?, ?, ?)').run(epoch, rosterBytes, signature);
  }

  certificate(epoch: number): { rosterBytes: Uint8Array; signature: Uint8Array } | undefined {
    const r = this.sql('SELECT roster_bytes, signature FROM certificates WHERE epoch = ?').get(epoch) as
      { roster_bytes: Buffer; signature: Buffer } | undefined;
    return r ? { rosterBytes: new Uint8Array(r.roster_bytes), signature: new Uint8Array(r.signature) } : undefined;
  }

  certificates(): { epoch: number; rosterBytes: Uint8Array; signature: Uint8Array }[] {
    const rows = this.sql('SELECT epoch, roster_bytes, signature FROM certificates ORDER BY epoch').all() as
      { epoch: number; roster_bytes: Buffer; signature: Buffer }[];
    return rows.map((r) => ({ epoch: r.epoch, rosterBytes: new Uint8Array(r.roster_bytes), signature: new Uint8Array(r.signature) }));
  }

  /** Stores one signing session's nonces (sealed); a session id is used once, ever. */
  startFrostSession(sessionId: Uint8Array, epoch: number, message: Uint8Array, sealedNonces: Uint8Array, nowMs: number): boolean {
    const r = this.sql('INSERT OR IGNORE INTO frost_sessions (session_id, epoch, message, sealed_nonces, created_ms) VALUES (?, ?, ?, ?, ?)')
      .run(sessionId, epoch, message, sealedNonces, nowMs);
    return r.changes === 1;
  }

  /**
   * Takes a session's nonces and erases them in the same transaction: they can be used once. A session
   * created before `createdAfterMs` has expired: its nonces are erased and nothing is returned.
   */
  takeFrostNonces(sessionId: Uint8Array, createdAfterMs = 0): { epoch: number; message: Uint8Array; sealedNonces: Uint8Array } | undefined {
    return this.db.transaction(() => {
      const r = this.sql('SELECT epoch, message, sealed_nonces, created_ms FROM frost_sessions WHERE session_id = ?').get(sessionId) as
        { epoch: number; message: Buffer; sealed_nonces: Buffer | null; created_ms: number } | undefined;
      if (!r || r.sealed_nonces === null) return undefined;
      this.sql('UPDATE frost_sessions SET sealed_nonces = NULL WHERE session_id = ?').run(sessionId);
      if (r.created_ms < createdAfterMs) return undefined;
      return { epoch: r.epoch, message: new Uint8Array(r.message), sealedNonces: new Uint8Array(r.sealed_nonces) };
    })();
  }

  /**
   * Deletes at most `limit` signing sessions created before `beforeMs`, oldest first, through the
   * index on created_ms (migration 3): a bounded step, never a scan of the whole table. Returns how many.
   */
  pruneFrostSessions(beforeMs: number, limit: number): number {
    return this.sql(`DELETE FROM frost_sessions WHERE rowid IN
        (SELECT rowid FROM frost_sessions WHERE created_ms < ? ORDER BY created_ms LIMIT ?)`).run(beforeMs, limit).changes;
  }
}
