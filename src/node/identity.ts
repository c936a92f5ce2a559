// A node's public identity: node id derived from its identity key.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { concatBytes, utf8 } from '../crypto/bytes.js';

export const NODE_ID_LENGTH = 16;

/** node_id = SHA-256("gatekeeper/v1/node-id" || identity_key)[0..16]. */
export function nodeIdOf(identityKey: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8('gatekeeper/v1/node-id'), identityKey)).slice(0, NODE_ID_LENGTH);
}

export const hex = (b: Uint8Array): string => bytesToHex(b);
