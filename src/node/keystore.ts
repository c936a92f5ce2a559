// The node's keys at rest: `init` creates them and seals the secret ones under a data key wrapped by an
// unseal key that only the operators' Shamir shares rebuild (DESIGN §2). While sealed, the node holds
// no secret in memory; once unsealed, `SecretBox` seals and opens secret columns.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Db } from '../store/database.js';
import { concatBytes, utf8 } from '../crypto/bytes.js';
import { generateIdentityKey } from '../crypto/identity.js';
import { generateTransportKeyPair } from '../crypto/hpke.js';
import {
  decodeUnsealShare, encodeUnsealShare, initSealing, openAtRest, sealAtRest, unsealDataKey, SealingError,
} from '../crypto/sealing.js';
import { nodeIdOf } from './identity.js';

export interface NodePublic {
  nodeId: Uint8Array;
  identityKey: Uint8Array;
  transportKey: Uint8Array;
  unsealShares: number;
  unsealThreshold: number;
}

interface NodeRow {
  node_id: Buffer; identity_key: Buffer; sealed_identity_secret: Buffer; transport_key: Buffer;
  sealed_transport_secret: Buffer; wrapped_data_key: Buffer; unseal_shares: number; unseal_threshold: number;
}

export class KeystoreError extends Error {
  override name = 'KeystoreError';
  /** malformed: the input itself is bad; refused: well-formed shares that do not open the key. */
  constructor(message: string, readonly kind: 'malformed' | 'refused' | 'state' = 'state') {
    super(message);
  }
}

/** Seals and opens secret values with the node's data key; each value is bound to what and where it is. */
export class SecretBox {
  constructor(private readonly dataKey: Uint8Array) {}
  seal(kind: string, location: string, plaintext: Uint8Array): Uint8Array {
    return sealAtRest(this.dataKey, { kind, location }, plaintext);
  }
  open(kind: string, location: string, sealed: Uint8Array): Uint8Array {
    return openAtRest(this.dataKey, { kind, location }, sealed);
  }
}

export interface UnsealedKeys {
  box: SecretBox;
  identitySecret: Uint8Array;
  transportSecret: Uint8Array;
}

const SHARE_DIGEST_DOMAIN = utf8('gatekeeper/v1/unseal-share-digest');
const SHARE_DIGEST_SALT_BYTES = 16;

/**
 * What the node keeps of each unseal share: SHA-256("gatekeeper/v1/unseal-share-digest" || salt || share)
 * with a random salt per share. A share is 32 random bytes plus its x-coordinate, so the digest lets
 * someone holding the database confirm a guessed share but not find one (docs/unseal.md).
 */
export function unsealShareDigest(salt: Uint8Array, share: Uint8Array): Uint8Array {
  return sha256(concatBytes(SHARE_DIGEST_DOMAIN, salt, share));
}

interface DigestRow { x: number; salt: Buffer; digest: Buffer }

function readRow(db: Db): NodeRow | undefined {
  return db.prepare('SELECT * FROM node WHERE id = 1').get() as NodeRow | undefined;
}

export function readNodePublic(db: Db): NodePublic | undefined {
  const row = readRow(db);
  if (!row) return undefined;
  return {
    nodeId: new Uint8Array(row.node_id),
    identityKey: new Uint8Array(row.identity_key),
    transportKey: new Uint8Array(row.transport_key),
    unsealShares: row.unseal_shares,
    unsealThreshold: row.unseal_threshold,
  };
}

/**
 * Creates the node's identity and transport keys and its data key; returns the unseal shares, which are
 * shown once and never stored.
 */
export async function initKeystore(db: Db, opts: { shares: number; threshold: number; now?: number }):
  Promise<{ public: NodePublic; unsealShares: string[] }> {
  if (readRow(db)) throw new KeystoreError('this node is already initialized');
  const identity = generateIdentityKey();
  const transport = generateTransportKeyPair();
  const { dataKey, wrappedDataKey, unsealShares } = await initSealing({ shares: opts.shares, threshold: opts.threshold });
  const box = new SecretBox(dataKey);
  const nodeId = nodeIdOf(identity.publicKey);
  const insertDigest = db.prepare('INSERT INTO unseal_share_digests (x, salt, digest) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const share of unsealShares) {
      const salt = new Uint8Array(randomBytes(SHARE_DIGEST_SALT_BYTES));
      insertDigest.run(share[share.length - 1]!, salt, unsealShareDigest(salt, share));
    }
    db.prepare(`INSERT INTO node (id, node_id, identity_key, sealed_identity_secret, transport_key,
        sealed_transport_secret, wrapped_data_key, unseal_shares, unseal_threshold, created_ms)
        VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      nodeId, identity.publicKey, box.seal('identity-secret', 'node', identity.secretKey),
      transport.publicKey, box.seal('transport-secret', 'node', transport.secretKey),
      wrappedDataKey, opts.shares, opts.threshold, opts.now ?? Date.now(),
    );
  })();
  identity.secretKey.fill(0);
  transport.secretKey.fill(0);
  dataKey.fill(0);
  return { public: readNodePublic(db)!, unsealShares: unsealShares.map(encodeUnsealShare) };
}

/**
 * Collects unseal shares one by one, as operators submit them. Each share is checked on its own against
 * the digest stored at init, so a forged or foreign share is refused without touching the shares already
 * given. Databases initialized before the digests existed fall back to checking the combined set.
 */
export class Unsealer {
  private shares = new Map<string, Uint8Array>();
  constructor(private readonly db: Db) {}

  get progress(): number { return this.shares.size; }
  reset(): void {
    for (const s of this.shares.values()) s.fill(0);
    this.shares.clear();
  }

  private checkDigest(share: Uint8Array): void {
    const count = (this.db.prepare('SELECT COUNT(*) AS n FROM unseal_share_digests').get() as { n: number }).n;
    if (count === 0) return; // initialized before share digests: only the combined check below
    const row = this.db.prepare('SELECT * FROM unseal_share_digests WHERE x = ?').get(share[share.length - 1]!) as DigestRow | undefined;
    const ok = !!row && row.digest.length === 32 && timingSafeEqual(unsealShareDigest(new Uint8Array(row.salt), share), row.digest);
    if (!ok) {
      share.fill(0);
      throw new KeystoreError('this is not one of this node\'s unseal shares; the shares given so far are kept', 'refused');
    }
  }

  /**
   * Adds one share (text as printed by init). Returns the unsealed keys once the threshold is reached.
   * A share that is not one of this node's is refused on its own; the shares given so far are kept.
   */
  async add(shareText: string): Promise<UnsealedKeys | undefined> {
    const row = readRow(this.db);
    if (!row) throw new KeystoreError('this node is not initialized: run `gatekeeper init` first');
    let share: Uint8Array;
    try {
      share = decodeUnsealShare(shareText);
    } catch (err) {
      throw new KeystoreError(err instanceof Error ? err.message : 'the unseal share is malformed', 'malformed');
    }
    this.checkDigest(share);
    const key = Buffer.from(share).toString('hex');
    this.shares.set(key, share);
    if (this.shares.size < row.unseal_threshold) return undefined;
    const shares = [...this.shares.values()];
    this.shares.clear();
    let dataKey: Uint8Array;
    try {
      dataKey = await unsealDataKey(new Uint8Array(row.wrapped_data_key), shares);
    } catch (err) {
      if (err instanceof SealingError) throw new KeystoreError(`${err.message}; the shares given so far were discarded`, 'refused');
      throw err;
    }
    const box = new SecretBox(dataKey);
    return {
      box,
      identitySecret: box.open('identity-secret', 'node', new Uint8Array(row.sealed_identity_secret)),
      transportSecret: box.open('transport-secret', 'node', new Uint8Array(row.sealed_transport_secret)),
    };
  }
}
