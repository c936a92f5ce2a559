// Persistence for contract keys: policies, contracts, revocations, challenges, provisioned workers,
// accepted publications and certified public keys. All public data; no secret is stored here.
import { statementCache, type Db } from './database.js';

export interface ContractRow { contractId: Uint8Array; namespace: string; policyId: string }
/** A registered contract with its governance state: the current key version and a conflict alarm (frozen while set). */
export interface ContractState extends ContractRow { currentVersion: number; alarm: string | undefined }
/** A certified key still to deliver to a member. */
export interface OutboxRow { peerNodeId: string; contractId: Uint8Array; version: number; attempts: number }
export interface ContractKeyRow { contractId: Uint8Array; version: number; generation: number; publicKey: Uint8Array; certificate: Uint8Array }

const u8 = (b: Buffer) => new Uint8Array(b);

interface KeyRowSql { version: number; generation: number; public_key: Buffer; certificate: Buffer }
const keyRow = (contractId: Uint8Array, r: KeyRowSql): ContractKeyRow =>
  ({ contractId, version: r.version, generation: r.generation, publicKey: u8(r.public_key), certificate: u8(r.certificate) });

export class ContractStore {
  private readonly sql: ReturnType<typeof statementCache>;
  private lastPruneMs = 0;
  /** challenges_used is pruned at most this often, and at most PRUNE_BATCH rows at a time (indexed on used_ms). */
  static readonly PRUNE_EVERY_MS = 60_000;
  static readonly PRUNE_BATCH = 1000;

  constructor(readonly db: Db) {
    this.sql = statementCache(db);
  }

  policy(id: string): { serial: number; policyJson: Uint8Array } | undefined {
    const r = this.sql('SELECT serial, policy_json FROM release_policies WHERE id = ?').get(id) as { serial: number; policy_json: Buffer } | undefined;
    return r ? { serial: r.serial, policyJson: u8(r.policy_json) } : undefined;
  }

  putPolicy(id: string, serial: number, policyJson: Uint8Array, signaturesJson: string, nowMs: number): void {
    this.sql(`INSERT INTO release_policies (id, serial, policy_json, signatures_json, updated_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET serial = excluded.serial, policy_json = excluded.policy_json,
        signatures_json = excluded.signatures_json, updated_ms = excluded.updated_ms WHERE excluded.serial > release_policies.serial`)
      .run(id, serial, policyJson, signaturesJson, nowMs);
  }

  contract(contractId: Uint8Array): ContractState | undefined {
    const r = this.sql('SELECT namespace, policy_id, current_version, alarm FROM contracts WHERE contract_id = ?').get(contractId) as
      { namespace: string; policy_id: string; current_version: number; alarm: string | null } | undefined;
    return r ? { contractId, namespace: r.namespace, policyId: r.policy_id, currentVersion: r.current_version, alarm: r.alarm ?? undefined } : undefined;
  }

  /** Moves the current version forward only (compare-and-set on the version it replaces). */
  setCurrentVersion(contractId: Uint8Array, from: number, to: number): boolean {
    return this.sql('UPDATE contracts SET current_version = ? WHERE contract_id = ? AND current_version = ?').run(to, contractId, from).changes === 1;
  }

  /** Freezes (text) or unfreezes (undefined) a contract. */
  setAlarm(contractId: Uint8Array, alarm: string | undefined): void {
    this.sql('UPDATE contracts SET alarm = ? WHERE contract_id = ?').run(alarm ?? null, contractId);
  }

  retire(contractId: Uint8Array, version: number, nowMs: number): void {
    this.sql('INSERT OR IGNORE INTO retired_versions (contract_id, version, retired_ms) VALUES (?, ?, ?)').run(contractId, version, nowMs);
  }

  isRetired(contractId: Uint8Array, version: number): boolean {
    return this.sql('SELECT 1 FROM retired_versions WHERE contract_id = ? AND version = ?').get(contractId, version) !== undefined;
  }

  putContract(c: ContractRow, nowMs: number): void {
    this.sql('INSERT INTO contracts (contract_id, namespace, policy_id, registered_ms) VALUES (?, ?, ?, ?)').run(c.contractId, c.namespace, c.policyId, nowMs);
  }

  isRevoked(kind: 'worker-key' | 'measurement', value: Uint8Array): string | undefined {
    const r = this.sql('SELECT reason FROM revocations WHERE kind = ? AND value = ?').get(kind, value) as { reason: string } | undefined;
    return r?.reason;
  }

  revoke(kind: 'worker-key' | 'measurement', value: Uint8Array, reason: string, nowMs: number): void {
    this.sql('INSERT OR IGNORE INTO revocations (kind, value, reason, revoked_ms) VALUES (?, ?, ?, ?)').run(kind, value, reason, nowMs);
  }

  /**
   * Marks a challenge nonce used at this member; false if it was used before. Rows older than a day
   * are dropped: a challenge expires long before (challengeTtlMs) and is refused as expired anyway.
   * The hot path prunes at most once per PRUNE_EVERY_MS and at most PRUNE_BATCH rows, by the used_ms index.
   */
  useChallenge(nonce: Uint8Array, nowMs: number): boolean {
    if (nowMs - this.lastPruneMs >= ContractStore.PRUNE_EVERY_MS) {
      this.lastPruneMs = nowMs;
      this.pruneChallenges(nowMs - 24 * 3600_000);
    }
    return this.sql('INSERT OR IGNORE INTO challenges_used (nonce, used_ms) VALUES (?, ?)').run(nonce, nowMs).changes === 1;
  }

  /** Deletes at most PRUNE_BATCH used challenges older than `beforeMs`; returns how many. */
  pruneChallenges(beforeMs: number): number {
    return this.sql(`DELETE FROM challenges_used WHERE rowid IN
        (SELECT rowid FROM challenges_used WHERE used_ms < ? ORDER BY used_ms LIMIT ${ContractStore.PRUNE_BATCH})`).run(beforeMs).changes;
  }

  recordProvisioned(r: { contractId: Uint8Array; version: number; workerSigningKey: Uint8Array; workerHpkeKey: Uint8Array; measurement: Uint8Array; generation: number }, nowMs: number): void {
    this.sql(`INSERT OR REPLACE INTO provisioned (contract_id, version, worker_signing_key, worker_hpke_key, measurement, generation, time_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?)`).run(r.contractId, r.version, r.workerSigningKey, r.workerHpkeKey, r.measurement, r.generation, nowMs);
  }

  provisioned(contractId: Uint8Array, version: number, workerSigningKey: Uint8Array): { measurement: Uint8Array; generation: number } | undefined {
    const r = this.sql('SELECT measurement, generation FROM provisioned WHERE contract_id = ? AND version = ? AND worker_signing_key = ?')
      .get(contractId, version, workerSigningKey) as { measurement: Buffer; generation: number } | undefined;
    return r ? { measurement: u8(r.measurement), generation: r.generation } : undefined;
  }

  publication(contractId: Uint8Array, version: number): { publicKey: Uint8Array; workerSigningKey: Uint8Array; signature: Uint8Array | undefined } | undefined {
    const r = this.sql('SELECT public_key, worker_signing_key, signature FROM publications WHERE contract_id = ? AND version = ?').get(contractId, version) as
      { public_key: Buffer; worker_signing_key: Buffer; signature: Buffer | null } | undefined;
    return r ? { publicKey: u8(r.public_key), workerSigningKey: u8(r.worker_signing_key), signature: r.signature ? u8(r.signature) : undefined } : undefined;
  }

  /** Records the first accepted publication of (contract, version) with the worker's signature; later ones must match it. */
  putPublication(contractId: Uint8Array, version: number, publicKey: Uint8Array, workerSigningKey: Uint8Array, signature: Uint8Array, nowMs: number): void {
    this.sql('INSERT OR IGNORE INTO publications (contract_id, version, public_key, worker_signing_key, signature, time_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .run(contractId, version, publicKey, workerSigningKey, signature, nowMs);
  }

  /** The certified key of exactly (contract, version). */
  contractKey(contractId: Uint8Array, version: number): ContractKeyRow | undefined {
    const r = this.sql('SELECT * FROM contract_keys WHERE contract_id = ? AND version = ?').get(contractId, version) as KeyRowSql | undefined;
    return r ? keyRow(contractId, r) : undefined;
  }

  /** The newest certified key of a contract at or below `maxVersion` that is not retired. */
  newestServable(contractId: Uint8Array, maxVersion: number): ContractKeyRow | undefined {
    const r = this.sql(`SELECT * FROM contract_keys k WHERE k.contract_id = ? AND k.version <= ? AND NOT EXISTS
        (SELECT 1 FROM retired_versions r WHERE r.contract_id = k.contract_id AND r.version = k.version)
        ORDER BY k.version DESC LIMIT 1`).get(contractId, maxVersion) as KeyRowSql | undefined;
    return r ? keyRow(contractId, r) : undefined;
  }

  putContractKey(k: ContractKeyRow, nowMs: number): void {
    this.sql('INSERT OR IGNORE INTO contract_keys (contract_id, version, generation, public_key, certificate, time_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .run(k.contractId, k.version, k.generation, k.publicKey, k.certificate, nowMs);
  }

  // ---- the outbox of certified keys to deliver (issue 12, item 2) ----

  /** Queues delivery of (contract, version) to each member (call inside the transaction that stores the key). */
  queueDelivery(peerNodeIds: string[], contractId: Uint8Array, version: number, nowMs: number): void {
    const st = this.sql('INSERT OR IGNORE INTO contract_key_outbox (peer_node_id, contract_id, version, next_ms) VALUES (?, ?, ?, ?)');
    for (const p of peerNodeIds) st.run(p, contractId, version, nowMs);
  }

  /** Deliveries due at `nowMs`, oldest first, at most `limit`. */
  dueDeliveries(nowMs: number, limit: number): OutboxRow[] {
    const rows = this.sql(`SELECT peer_node_id, contract_id, version, attempts FROM contract_key_outbox WHERE next_ms <= ?
        ORDER BY next_ms LIMIT ?`).all(nowMs, limit) as { peer_node_id: string; contract_id: Buffer; version: number; attempts: number }[];
    return rows.map((r) => ({ peerNodeId: r.peer_node_id, contractId: u8(r.contract_id), version: r.version, attempts: r.attempts }));
  }

  /** The queued deliveries of one key, whenever due. */
  deliveriesOf(contractId: Uint8Array, version: number): OutboxRow[] {
    const rows = this.sql('SELECT peer_node_id, attempts FROM contract_key_outbox WHERE contract_id = ? AND version = ?').all(contractId, version) as
      { peer_node_id: string; attempts: number }[];
    return rows.map((r) => ({ peerNodeId: r.peer_node_id, contractId, version, attempts: r.attempts }));
  }

  /** Every queued delivery (operators and tests read it). */
  pendingDeliveries(): (OutboxRow & { nextMs: number; lastError: string })[] {
    const rows = this.sql('SELECT * FROM contract_key_outbox ORDER BY next_ms').all() as
      { peer_node_id: string; contract_id: Buffer; version: number; attempts: number; next_ms: number; last_error: string }[];
    return rows.map((r) => ({ peerNodeId: r.peer_node_id, contractId: u8(r.contract_id), version: r.version, attempts: r.attempts,
      nextMs: r.next_ms, lastError: r.last_error }));
  }

  delivered(peerNodeId: string, contractId: Uint8Array, version: number): void {
    this.sql('DELETE FROM contract_key_outbox WHERE peer_node_id = ? AND contract_id = ? AND version = ?').run(peerNodeId, contractId, version);
  }

  /** A failed attempt: the next one is due at `nextMs`; `error` is bounded by the caller. */
  deliveryFailed(peerNodeId: string, contractId: Uint8Array, version: number, nextMs: number, error: string): void {
    this.sql(`UPDATE contract_key_outbox SET attempts = attempts + 1, next_ms = ?, last_error = ?
        WHERE peer_node_id = ? AND contract_id = ? AND version = ?`).run(nextMs, error, peerNodeId, contractId, version);
  }

  /** Every registered contract with its current version and newest certified key version (0: none). */
  contractsForSync(): { contractId: Uint8Array; currentVersion: number; newestCertified: number }[] {
    const rows = this.sql(`SELECT c.contract_id, c.current_version, COALESCE((SELECT MAX(k.version) FROM contract_keys k
        WHERE k.contract_id = c.contract_id), 0) AS newest FROM contracts c WHERE c.alarm IS NULL`).all() as
      { contract_id: Buffer; current_version: number; newest: number }[];
    return rows.map((r) => ({ contractId: u8(r.contract_id), currentVersion: r.current_version, newestCertified: r.newest }));
  }
}
