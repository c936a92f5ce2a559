// Signed calls (docs/auth.md). The caller signs, with BIP340 under a per-role tag, the method path, a
// millisecond timestamp, a random nonce and the SHA-256 of the exact request bytes. The server refuses
// stale timestamps, timestamps from before it started, and any (key, nonce) pair it has seen since, so a
// captured call cannot be replayed (not even across a restart), and a signature cannot be moved to
// another method or request.
import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { concatBytes, lp, u64be, utf8 } from '../crypto/bytes.js';
import { identityPublicKey, signTagged, verifyTagged } from '../crypto/identity.js';
import { unauthenticated } from './errors.js';

export type CallRole = 'operator' | 'peer';

export const AUTH_HEADERS = {
  key: 'x-gk-key',
  timestamp: 'x-gk-timestamp',
  nonce: 'x-gk-nonce',
  signature: 'x-gk-signature',
} as const;

const NONCE_BYTES = 16;


export function callMessage(method: string, timestampMs: bigint, nonce: Uint8Array, request: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/rpc'), lp(utf8(method)), u64be(timestampMs), nonce, sha256(request));
}

/** Metadata that authenticates one call of `method` carrying `request` (its serialized bytes). */
export function signCall(role: CallRole, secretKey: Uint8Array, method: string, request: Uint8Array, nowMs = Date.now(),
  publicKey: Uint8Array = identityPublicKey(secretKey)): Metadata {
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
  const ts = BigInt(nowMs);
  const md = new Metadata();
  md.set(AUTH_HEADERS.key, bytesToHex(publicKey));
  md.set(AUTH_HEADERS.timestamp, ts.toString());
  md.set(AUTH_HEADERS.nonce, bytesToHex(nonce));
  md.set(AUTH_HEADERS.signature, bytesToHex(signTagged(secretKey, role, callMessage(method, ts, nonce, request))));
  return md;
}

function header(md: Metadata, name: string, pattern: RegExp): string {
  const v = md.get(name);
  if (v.length !== 1 || typeof v[0] !== 'string') throw unauthenticated(`missing or repeated ${name} header: the call must be signed`);
  if (!pattern.test(v[0])) throw unauthenticated(`malformed ${name} header`);
  return v[0];
}

/**
 * Remembers (key, nonce) pairs for the skew window. In memory: calls stamped before this registry was
 * created are refused, so a call captured before a restart cannot be replayed after it either.
 */
export class NonceRegistry {
  private seen = new Map<string, number>();
  private lastPrune = 0;
  readonly notBeforeMs: number;

  constructor(private readonly windowMs: number, nowMs = Date.now()) {
    this.notBeforeMs = nowMs;
  }

  /** Records the pair; false if it was already seen. */
  claim(key: Uint8Array, nonce: Uint8Array, nowMs: number): boolean {
    if (nowMs - this.lastPrune > this.windowMs) {
      for (const [k, t] of this.seen) if (t < nowMs - 2 * this.windowMs) this.seen.delete(k);
      this.lastPrune = nowMs;
    }
    const id = bytesToHex(key) + bytesToHex(nonce);
    if (this.seen.has(id)) return false;
    this.seen.set(id, nowMs);
    return true;
  }
}

/**
 * Verifies a signed call and returns the caller's x-only key. Throws UNAUTHENTICATED for a missing,
 * malformed, stale, replayed or wrong signature; the caller decides PERMISSION_DENIED for a valid
 * signature from a key that may not make the call.
 */
export function verifyCall(role: CallRole, md: Metadata, method: string, request: Uint8Array, nonces: NonceRegistry,
  skewMs: number, nowMs = Date.now()): Uint8Array {
  const key = hexToBytes(header(md, AUTH_HEADERS.key, /^[0-9a-f]{64}$/));
  const tsText = header(md, AUTH_HEADERS.timestamp, /^[0-9]{1,16}$/);
  const nonce = hexToBytes(header(md, AUTH_HEADERS.nonce, /^[0-9a-f]{32}$/));
  const sig = hexToBytes(header(md, AUTH_HEADERS.signature, /^[0-9a-f]{128}$/));
  const ts = BigInt(tsText);
  if (Math.abs(Number(ts) - nowMs) > skewMs) {
    throw unauthenticated(`the call's timestamp is more than ${Math.round(skewMs / 1000)} s from this node's clock`);
  }
  if (Number(ts) < nonces.notBeforeMs) throw unauthenticated('the call was signed before this node started; sign it again');
  if (!verifyTagged(key, role, callMessage(method, ts, nonce, request), sig)) {
    throw unauthenticated('the call signature does not verify for this method and request');
  }
  if (!nonces.claim(key, nonce, nowMs)) throw unauthenticated('replayed call: this nonce was already used');
  return key;
}
