// Test-side view of a stopped devnet node's secrets: opens its database with its development unseal
// shares, exactly as an operator could, so tests can check shares and scan files for secret bytes.
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { openDatabase } from '../../src/store/database.js';
import { unsealDataKey, decodeUnsealShare } from '../../src/crypto/sealing.js';
import { SecretBox } from '../../src/node/keystore.js';
import { CeremonyStore } from '../../src/store/ceremony-store.js';
import { decodeKeyPackage, type KeyPackage } from '../../src/crypto/frost.js';
import type { DevnetNode } from '../../src/devnet/devnet.js';

export interface NodeSecrets {
  dataKey: Uint8Array;
  identitySecret: Uint8Array;
  transportSecret: Uint8Array;
  derivation?: KeyPackage;
  signing?: KeyPackage;
}

export async function readNodeSecrets(n: DevnetNode, epoch: number): Promise<NodeSecrets> {
  const db = openDatabase(path.join(n.dir, 'gatekeeper.sqlite'));
  try {
    const row = db.prepare('SELECT * FROM node').get() as { wrapped_data_key: Buffer; sealed_identity_secret: Buffer; sealed_transport_secret: Buffer };
    const dataKey = await unsealDataKey(new Uint8Array(row.wrapped_data_key), n.unsealShares.slice(0, 2).map(decodeUnsealShare));
    const box = new SecretBox(dataKey);
    const shares = new CeremonyStore(db).keyShares(epoch);
    let keys: { derivation: unknown; signing: unknown } | undefined;
    if (shares) keys = JSON.parse(new TextDecoder().decode(box.open('key-shares', `epoch/${epoch}`, shares.sealedShares)));
    return {
      dataKey,
      identitySecret: box.open('identity-secret', 'node', new Uint8Array(row.sealed_identity_secret)),
      transportSecret: box.open('transport-secret', 'node', new Uint8Array(row.sealed_transport_secret)),
      derivation: keys ? decodeKeyPackage(keys.derivation) : undefined,
      signing: keys ? decodeKeyPackage(keys.signing) : undefined,
    };
  } finally {
    db.close();
  }
}

/** Every secret as the byte strings that would betray it in a file: raw, hex and base64. */
export function secretNeedles(s: NodeSecrets): { name: string; bytes: Buffer }[] {
  const list: [string, Uint8Array | undefined][] = [
    ['data key', s.dataKey], ['identity secret', s.identitySecret], ['transport secret', s.transportSecret],
    ['derivation share', s.derivation?.signingShare], ['signing share', s.signing?.signingShare],
  ];
  return list.flatMap(([name, v]) => v ? [
    { name: `${name} (raw)`, bytes: Buffer.from(v) },
    { name: `${name} (hex)`, bytes: Buffer.from(bytesToHex(v)) },
    { name: `${name} (base64)`, bytes: Buffer.from(Buffer.from(v).toString('base64')) },
  ] : []);
}
