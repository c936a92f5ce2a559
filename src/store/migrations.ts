// Schema migrations, applied in order; PRAGMA user_version records how many have run. Never edit a
// shipped migration: add a new one. Columns named sealed_* hold sealAtRest output, never plaintext.
export const MIGRATIONS: string[] = [
  // 1: node identity, unseal parameters, ceremonies, DKG transcript, shares, certificates, audit.
  `
  CREATE TABLE node (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    node_id BLOB NOT NULL,
    identity_key BLOB NOT NULL,
    sealed_identity_secret BLOB NOT NULL,
    transport_key BLOB NOT NULL,
    sealed_transport_secret BLOB NOT NULL,
    wrapped_data_key BLOB NOT NULL,
    unseal_shares INTEGER NOT NULL,
    unseal_threshold INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
  );
  CREATE TABLE ceremonies (
    epoch INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    snapshot BLOB NOT NULL,
    snapshot_hash BLOB NOT NULL,
    roster_json TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    phase_deadline_ms INTEGER NOT NULL,
    phase_timeout_ms INTEGER NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    updated_ms INTEGER NOT NULL
  );
  CREATE TABLE dkg_local (
    epoch INTEGER PRIMARY KEY,
    sealed_state BLOB NOT NULL
  );
  CREATE TABLE dkg_round1 (
    epoch INTEGER NOT NULL,
    sender BLOB NOT NULL,
    derivation BLOB NOT NULL,
    signing BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (epoch, sender)
  );
  CREATE TABLE dkg_round2 (
    epoch INTEGER NOT NULL,
    sender BLOB NOT NULL,
    recipient BLOB NOT NULL,
    sealed BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (epoch, sender, recipient)
  );
  CREATE TABLE key_shares (
    epoch INTEGER PRIMARY KEY,
    share_identifier BLOB NOT NULL,
    sealed_shares BLOB NOT NULL,
    public_json TEXT NOT NULL
  );
  CREATE TABLE certificates (
    epoch INTEGER PRIMARY KEY,
    roster_bytes BLOB NOT NULL,
    signature BLOB NOT NULL
  );
  CREATE TABLE frost_sessions (
    session_id BLOB PRIMARY KEY,
    epoch INTEGER NOT NULL,
    message BLOB NOT NULL,
    sealed_nonces BLOB,
    created_ms INTEGER NOT NULL
  );
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
  );
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  `,
  // 2: contract keys: release policies, contracts, revocations, used challenges, provisioned workers, keys.
  `
  CREATE TABLE release_policies (
    id TEXT PRIMARY KEY,
    serial INTEGER NOT NULL,
    policy_json BLOB NOT NULL,
    signatures_json TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
  );
  CREATE TABLE contracts (
    contract_id BLOB PRIMARY KEY,
    namespace TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    registered_ms INTEGER NOT NULL
  );
  CREATE TABLE revocations (
    kind TEXT NOT NULL CHECK (kind IN ('worker-key', 'measurement')),
    value BLOB NOT NULL,
    reason TEXT NOT NULL,
    revoked_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
  );
  CREATE TABLE challenges_used (
    nonce BLOB PRIMARY KEY,
    used_ms INTEGER NOT NULL
  );
  CREATE TABLE provisioned (
    contract_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    worker_signing_key BLOB NOT NULL,
    worker_hpke_key BLOB NOT NULL,
    measurement BLOB NOT NULL,
    generation INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (contract_id, version, worker_signing_key)
  );
  CREATE TABLE publications (
    contract_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    worker_signing_key BLOB NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (contract_id, version)
  );
  CREATE TABLE contract_keys (
    contract_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    certificate BLOB NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (contract_id, version)
  );
  `,
  // 3: contract key versions (current version, retired versions), the conflict-alarm freeze, the
  // worker's signature kept with each accepted publication (alarm evidence), and an index that lets
  // challenges_used be pruned without a table scan.
  `
  ALTER TABLE contracts ADD COLUMN current_version INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE contracts ADD COLUMN alarm TEXT;
  CREATE TABLE retired_versions (
    contract_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    retired_ms INTEGER NOT NULL,
    PRIMARY KEY (contract_id, version)
  );
  ALTER TABLE publications ADD COLUMN signature BLOB;
  CREATE INDEX challenges_used_by_time ON challenges_used (used_ms);
  `,
  // 4: unseal share digests (docs/unseal.md): SHA-256(domain || salt || share) with a random salt per
  // share, written at init, so a forged or foreign share is refused on its own.
  `
  CREATE TABLE unseal_share_digests (
    x INTEGER PRIMARY KEY,
    salt BLOB NOT NULL,
    digest BLOB NOT NULL
  );
  `,
  // 5: signing sessions are pruned by age (ceremony-store pruneFrostSessions) through this index.
  `
  CREATE INDEX frost_sessions_created ON frost_sessions (created_ms);
  `,
];
