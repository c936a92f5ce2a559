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
  // 6: the high-water counter (docs/backup.md): every write to a table whose loss would make the node
  // forget what it acknowledged (ceremonies, votes and DKG transcript, shares, certificates, FROST nonces,
  // policies, releases, publications, revocations, used challenges, the audit log) bumps it, by trigger, in
  // the same transaction. The node copies it to <db>.hwm, outside the database, before it answers, and
  // refuses to start on a database whose counter is behind that file. `instance` names this database.
  `
  CREATE TABLE high_water (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    counter INTEGER NOT NULL,
    instance BLOB NOT NULL
  );
  INSERT INTO high_water (id, counter, instance) VALUES (1, 0, randomblob(16));
  CREATE TRIGGER high_water_no_delete BEFORE DELETE ON high_water BEGIN SELECT RAISE(ABORT, 'the high-water row is permanent'); END;
  CREATE TRIGGER high_water_monotonic BEFORE UPDATE ON high_water WHEN NEW.counter < OLD.counter OR NEW.instance != OLD.instance
    BEGIN SELECT RAISE(ABORT, 'the high-water counter only grows'); END;
  CREATE TRIGGER hw_node_insert AFTER INSERT ON node BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_node_update AFTER UPDATE ON node BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_node_delete AFTER DELETE ON node BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_unseal_share_digests_insert AFTER INSERT ON unseal_share_digests BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_unseal_share_digests_update AFTER UPDATE ON unseal_share_digests BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_unseal_share_digests_delete AFTER DELETE ON unseal_share_digests BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_ceremonies_insert AFTER INSERT ON ceremonies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_ceremonies_update AFTER UPDATE ON ceremonies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_ceremonies_delete AFTER DELETE ON ceremonies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_local_insert AFTER INSERT ON dkg_local BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_local_update AFTER UPDATE ON dkg_local BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_local_delete AFTER DELETE ON dkg_local BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_round1_insert AFTER INSERT ON dkg_round1 BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_round1_update AFTER UPDATE ON dkg_round1 BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_round1_delete AFTER DELETE ON dkg_round1 BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_round2_insert AFTER INSERT ON dkg_round2 BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_round2_update AFTER UPDATE ON dkg_round2 BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_round2_delete AFTER DELETE ON dkg_round2 BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_key_shares_insert AFTER INSERT ON key_shares BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_key_shares_update AFTER UPDATE ON key_shares BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_key_shares_delete AFTER DELETE ON key_shares BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_certificates_insert AFTER INSERT ON certificates BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_certificates_update AFTER UPDATE ON certificates BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_certificates_delete AFTER DELETE ON certificates BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_frost_sessions_insert AFTER INSERT ON frost_sessions BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_frost_sessions_update AFTER UPDATE ON frost_sessions BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_frost_sessions_delete AFTER DELETE ON frost_sessions BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_release_policies_insert AFTER INSERT ON release_policies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_release_policies_update AFTER UPDATE ON release_policies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_release_policies_delete AFTER DELETE ON release_policies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_contracts_insert AFTER INSERT ON contracts BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_contracts_update AFTER UPDATE ON contracts BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_contracts_delete AFTER DELETE ON contracts BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_revocations_insert AFTER INSERT ON revocations BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_revocations_update AFTER UPDATE ON revocations BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_revocations_delete AFTER DELETE ON revocations BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_provisioned_insert AFTER INSERT ON provisioned BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_provisioned_update AFTER UPDATE ON provisioned BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_provisioned_delete AFTER DELETE ON provisioned BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_publications_insert AFTER INSERT ON publications BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_publications_update AFTER UPDATE ON publications BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_publications_delete AFTER DELETE ON publications BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_contract_keys_insert AFTER INSERT ON contract_keys BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_contract_keys_update AFTER UPDATE ON contract_keys BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_contract_keys_delete AFTER DELETE ON contract_keys BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_retired_versions_insert AFTER INSERT ON retired_versions BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_retired_versions_update AFTER UPDATE ON retired_versions BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_retired_versions_delete AFTER DELETE ON retired_versions BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_challenges_used_insert AFTER INSERT ON challenges_used BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_audit_insert AFTER INSERT ON audit BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  `,
  // 7: each genesis member's signed DKG outcome (docs/ceremony.md): a confirmation of the roster it
  // computed, or a verifiable complaint against one sender. Certification waits for every member's
  // confirmation; a complaint aborts genesis everywhere with its evidence kept here.
  `
  CREATE TABLE dkg_outcomes (
    epoch INTEGER NOT NULL,
    sender BLOB NOT NULL,
    roster_hash BLOB NOT NULL,
    complaint BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (epoch, sender)
  );
  CREATE TRIGGER hw_dkg_outcomes_insert AFTER INSERT ON dkg_outcomes BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_outcomes_update AFTER UPDATE ON dkg_outcomes BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_dkg_outcomes_delete AFTER DELETE ON dkg_outcomes BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  `,
  // 8: the ceremony engine (src/ceremony/engine.ts, docs/ceremony.md): one record per ceremony (its
  // protocol's phase and state, sealed), every signed message keyed by (ceremony, phase, sender,
  // recipient), and each member's one vote per epoch, persisted before it is sent.
  `
  CREATE TABLE engine_ceremonies (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    status TEXT NOT NULL,
    phase TEXT NOT NULL,
    members_json TEXT NOT NULL,
    sealed_state BLOB NOT NULL,
    phase_deadline_ms INTEGER NOT NULL,
    phase_timeout_ms INTEGER NOT NULL,
    error TEXT NOT NULL,
    culprit TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
  );
  CREATE TABLE engine_messages (
    ceremony TEXT NOT NULL,
    phase TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (ceremony, phase, sender, recipient)
  );
  CREATE TABLE engine_votes (
    epoch INTEGER PRIMARY KEY,
    snapshot_hash BLOB NOT NULL,
    roster_hash BLOB NOT NULL,
    signature BLOB NOT NULL
  );
  CREATE TRIGGER hw_engine_ceremonies_insert AFTER INSERT ON engine_ceremonies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_engine_ceremonies_update AFTER UPDATE ON engine_ceremonies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_engine_ceremonies_delete AFTER DELETE ON engine_ceremonies BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_engine_messages_insert AFTER INSERT ON engine_messages BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_engine_messages_update AFTER UPDATE ON engine_messages BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_engine_messages_delete AFTER DELETE ON engine_messages BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_engine_votes_insert AFTER INSERT ON engine_votes BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_engine_votes_update AFTER UPDATE ON engine_votes BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_engine_votes_delete AFTER DELETE ON engine_votes BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  `,
  // 9: certified contract keys still to deliver to a member (issue 12, item 2): one row per (member,
  // contract, version), written in the transaction that stores the key, deleted when the member
  // acknowledged it; next_ms is when the next attempt is due (backoff). Triggers: the high-water mark.
  `
  CREATE TABLE contract_key_outbox (
    peer_node_id TEXT NOT NULL,
    contract_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (peer_node_id, contract_id, version)
  );
  CREATE INDEX contract_key_outbox_next ON contract_key_outbox (next_ms);
  CREATE TRIGGER hw_contract_key_outbox_insert AFTER INSERT ON contract_key_outbox BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_contract_key_outbox_update AFTER UPDATE ON contract_key_outbox BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  CREATE TRIGGER hw_contract_key_outbox_delete AFTER DELETE ON contract_key_outbox BEGIN UPDATE high_water SET counter = counter + 1 WHERE id = 1; END;
  `,
  // 10: genesis's DKG runs on the ceremony engine (engine_ceremonies, engine_messages, migration 8):
  // its own transcript tables and local DKG state go (their high-water triggers go with them).
  `
  DROP TABLE dkg_round1;
  DROP TABLE dkg_round2;
  DROP TABLE dkg_outcomes;
  DROP TABLE dkg_local;
  `,
];
