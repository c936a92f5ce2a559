// Signed calls (docs/auth.md). The caller signs, with BIP340 under a per-role tag, the method path, a
// millisecond timestamp, a random nonce and the SHA-256 of the exact request bytes. The server refuses
// stale timestamps, timestamps from before it started, and any (key, nonce) pair it has seen since, so a
// captured call cannot be replayed (not even across a restart), and a signature cannot be moved to
// another method or request.
import { createHash, randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { concatBytes, lp, u64be, utf8 } from '../crypto/bytes.js';
import { identityPublicKey, signTagged, verifyTagged } from '../crypto/identity.js';
import { resourceExhausted, unauthenticated } from './errors.js';

export type CallRole = 'operator' | 'peer';

export const AUTH_HEADERS = {
  key: 'x-gk-key',
  timestamp: 'x-gk-timestamp',
  nonce: 'x-gk-nonce',
  signature: 'x-gk-signature',
} as const;

const NONCE_BYTES = 16;


export function callMessage(method: string, timestampMs: bigint, nonce: Uint8Array, request: Uint8Array): Uint8Array {
  return concatBytes(utf8('gatekeeper/v1/rpc'), lp(utf8(method)), u64be(timestampMs), nonce,
    // node:crypto's SHA-256: requests can be megabytes (a snapshot), where it is ~10x noble's speed.
    new Uint8Array(createHash('sha256').update(request).digest()));
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

/** How many (key, nonce) pairs the registry holds at most, in all and per key (see NonceRegistry). */
export const NONCE_REGISTRY_MAX_ENTRIES = 100_000;
export const NONCE_REGISTRY_MAX_PER_KEY = 25_000;

/**
 * Remembers (key, nonce) pairs of authorised callers until their call's timestamp leaves the skew window
 * (a replay of an older call is refused by the timestamp check alone). In memory: calls stamped before
 * this registry was created are refused, so a call captured before a restart cannot be replayed after it.
 *
 * Bounded: at most `maxEntries` pairs, `maxPerKey` of them for one key. When full it refuses new calls
 * (RESOURCE_EXHAUSTED) rather than forget a pair still inside the window, which would let that call be
 * replayed; only pairs whose timestamp is older than the window are ever forgotten.
 */
export class NonceRegistry {
  private readonly byKey = new Map<string, Map<string, number>>();
  private count = 0;
  private lastPrune = 0;
  readonly notBeforeMs: number;

  constructor(private readonly windowMs: number, nowMs = Date.now(),
    readonly maxEntries = NONCE_REGISTRY_MAX_ENTRIES, readonly maxPerKey = NONCE_REGISTRY_MAX_PER_KEY) {
    this.notBeforeMs = nowMs;
  }

  /** Pairs held now. */
  get size(): number { return this.count; }

  private prune(nowMs: number): void {
    this.lastPrune = nowMs;
    for (const [k, m] of this.byKey) {
      for (const [n, ts] of m) {
        if (ts < nowMs - this.windowMs) { m.delete(n); this.count--; }
      }
      if (m.size === 0) this.byKey.delete(k);
    }
  }

  /**
   * Records the pair of a call stamped `tsMs` (default: now): 'ok', 'replayed' if it was seen, 'full' if
   * the registry (or this key's share of it) is full of pairs still inside the window.
   */
  claim(key: Uint8Array, nonce: Uint8Array, nowMs: number, tsMs = nowMs): 'ok' | 'replayed' | 'full' {
    if (nowMs - this.lastPrune > this.windowMs) this.prune(nowMs);
    const k = bytesToHex(key);
    const n = bytesToHex(nonce);
    let m = this.byKey.get(k);
    if (m?.has(n)) return 'replayed';
    if (this.count >= this.maxEntries || (m?.size ?? 0) >= this.maxPerKey) {
      // Full: forget what has left the window (at most once a second), then refuse if still full.
      if (nowMs - this.lastPrune >= 1000) this.prune(nowMs);
      m = this.byKey.get(k);
      if (this.count >= this.maxEntries || (m?.size ?? 0) >= this.maxPerKey) return 'full';
    }
    if (!m) { m = new Map(); this.byKey.set(k, m); }
    m.set(n, tsMs);
    this.count++;
    return 'ok';
  }
}

/**
 * Verifies a signed call and returns the caller's x-only key. Throws UNAUTHENTICATED for a missing,
 * malformed, stale, replayed or wrong signature; `authorize` throws (PERMISSION_DENIED) for a valid
 * signature from a key that may not make the call, before its nonce is recorded; RESOURCE_EXHAUSTED
 * when the replay registry is full.
 */
export function verifyCall(role: CallRole, md: Metadata, method: string, request: Uint8Array, nonces: NonceRegistry,
  skewMs: number, nowMs = Date.now(), authorize?: (key: Uint8Array) => void): Uint8Array {
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
  // Only a key that may make this call gets a place in the registry (`authorize` throws otherwise).
  authorize?.(key);
  const claimed = nonces.claim(key, nonce, nowMs, Number(ts));
  if (claimed === 'replayed') throw unauthenticated('replayed call: this nonce was already used');
  if (claimed === 'full') throw resourceExhausted('too many signed calls within the clock-skew window; retry later');
  return key;
}
