// Sealing at rest (DESIGN §2): secret columns are AES-256-GCM under the node's data key; the data key
// is stored only wrapped by an unseal key, and the unseal key exists only as Shamir shares over
// GF(2^8) (`shamir-secret-sharing`) held by the node's operators, Vault-style. Every failure to open
// is detected by the AEAD, so wrong, tampered or too few shares are reported, never silently used.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { concatBytes, lp, plain, utf8 } from './bytes.js';

/** Format version byte of sealed values and of the wrapped data key. */
export const SEALING_VERSION = 0x01;
export const DATA_KEY_LENGTH = 32;
const NONCE_LENGTH = 12; // 96-bit GCM nonce, random per value
const TAG_LENGTH = 16;
/** An unseal share: the 32-byte y-values followed by the 1-byte x-coordinate (library layout). */
export const UNSEAL_SHARE_LENGTH = DATA_KEY_LENGTH + 1;
/** 0x01 || nonce || AES-256-GCM(data key) || tag. */
export const WRAPPED_DATA_KEY_LENGTH = 1 + NONCE_LENGTH + DATA_KEY_LENGTH + TAG_LENGTH;

const AT_REST_AD_PREFIX = utf8('gatekeeper/v1/at-rest');
const DATA_KEY_AD = utf8('gatekeeper/v1/data-key');
const SHARE_CHECKSUM_DOMAIN = utf8('gatekeeper/v1/unseal-share');
const SHARE_TEXT_PREFIX = 'gk-unseal-1';

export const UNSEAL_FAILED = 'the unseal shares do not open the data key: wrong, tampered or too few shares';

/** Any sealing failure. Messages name what failed, never key or share bytes. */
export class SealingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealingError';
  }
}

/** What a sealed value is and where it belongs; both are bound into the AEAD's associated data. */
export interface SealingBinding {
  kind: string;
  location: string;
}

function assertKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== DATA_KEY_LENGTH) throw new SealingError(`${what} must be ${DATA_KEY_LENGTH} bytes`);
}

// AD = "gatekeeper/v1/at-rest" || version || lp(kind) || lp(location): moving a value to another row
// or column, or relabelling it, changes the AD and the tag no longer verifies.
function atRestAd(binding: SealingBinding): Uint8Array {
  if (typeof binding !== 'object' || binding === null) throw new SealingError('binding must be { kind, location }');
  const { kind, location } = binding;
  if (typeof kind !== 'string' || kind.length === 0) throw new SealingError('binding.kind must be a non-empty string');
  if (typeof location !== 'string' || location.length === 0) throw new SealingError('binding.location must be a non-empty string');
  const k = utf8(kind);
  const l = utf8(location);
  if (k.length > 0xffff || l.length > 0xffff) throw new SealingError('binding.kind and binding.location must be shorter than 65536 bytes');
  return concatBytes(AT_REST_AD_PREFIX, new Uint8Array([SEALING_VERSION]), lp(k), lp(l));
}

// version || nonce || ciphertext || tag, AES-256-GCM from node:crypto.
function aeadSeal(key: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(ad);
  const ct = concatBytes(cipher.update(plaintext), cipher.final());
  return concatBytes(new Uint8Array([SEALING_VERSION]), nonce, ct, cipher.getAuthTag());
}

/** Returns undefined when the tag does not verify. Format errors are thrown by the caller's checks. */
function aeadOpen(key: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  const nonce = sealed.subarray(1, 1 + NONCE_LENGTH);
  const ct = sealed.subarray(1 + NONCE_LENGTH, sealed.length - TAG_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(ad);
    decipher.setAuthTag(tag);
    return plain(concatBytes(decipher.update(ct), decipher.final()));
  } catch {
    return undefined;
  }
}

function assertSealedFormat(sealed: Uint8Array, what: string): void {
  if (!(sealed instanceof Uint8Array)) throw new SealingError(`${what} must be bytes`);
  if (sealed.length < 1 + NONCE_LENGTH + TAG_LENGTH) {
    throw new SealingError(`${what} is truncated: ${sealed.length} bytes, at least ${1 + NONCE_LENGTH + TAG_LENGTH} expected`);
  }
  if (sealed[0] !== SEALING_VERSION) throw new SealingError(`${what} has unknown format version ${sealed[0]}`);
}

/** Seals a secret value under the data key, bound to what it is and where it is stored. */
export function sealAtRest(dataKey: Uint8Array, binding: SealingBinding, plaintext: Uint8Array): Uint8Array {
  assertKey(dataKey, 'data key');
  if (!(plaintext instanceof Uint8Array)) throw new SealingError('plaintext must be bytes');
  return aeadSeal(dataKey, atRestAd(binding), plaintext);
}

/** Opens a value sealed by sealAtRest with the same binding; refuses anything else. */
export function openAtRest(dataKey: Uint8Array, binding: SealingBinding, sealed: Uint8Array): Uint8Array {
  assertKey(dataKey, 'data key');
  const ad = atRestAd(binding);
  assertSealedFormat(sealed, 'sealed value');
  const pt = aeadOpen(dataKey, ad, sealed);
  if (!pt) {
    throw new SealingError(
      `sealed value for ${binding.kind} at ${binding.location} does not open: wrong data key, tampered, or moved from another place`,
    );
  }
  return pt;
}

function assertShareParams(shares: unknown, threshold: unknown): void {
  if (!Number.isInteger(shares) || !Number.isInteger(threshold)) throw new SealingError('shares and threshold must be integers');
  const m = shares as number;
  const u = threshold as number;
  if (!(u >= 1 && u <= m && m <= 255)) throw new SealingError(`need 1 <= threshold <= shares <= 255, got threshold ${u} of ${m}`);
}

// Threshold 1 is Shamir with a constant polynomial: every share's y-values are the unseal key itself,
// so any single operator can unseal alone. `shamir-secret-sharing` refuses threshold 1 and m = 1, so
// those shares are built here in the library's layout (y || x) with x = 1..m.
async function splitUnsealKey(unsealKey: Uint8Array, m: number, u: number): Promise<Uint8Array[]> {
  if (u === 1) return Array.from({ length: m }, (_, i) => concatBytes(unsealKey, new Uint8Array([i + 1])));
  return split(plain(unsealKey), m, u);
}

async function wrapWithNewUnsealKey(dataKey: Uint8Array, m: number, u: number): Promise<{ wrappedDataKey: Uint8Array; unsealShares: Uint8Array[] }> {
  const unsealKey = plain(randomBytes(DATA_KEY_LENGTH));
  try {
    const wrappedDataKey = aeadSeal(unsealKey, DATA_KEY_AD, dataKey);
    const unsealShares = await splitUnsealKey(unsealKey, m, u);
    return { wrappedDataKey, unsealShares };
  } finally {
    unsealKey.fill(0);
  }
}

/**
 * A new node's sealing keys: a random data key, wrapped (AES-256-GCM, AD "gatekeeper/v1/data-key")
 * by a random unseal key that is split into `shares` unseal shares, any `threshold` of which rebuild it.
 * threshold = 1 means any one share unseals on its own.
 */
export async function initSealing(opts: { shares: number; threshold: number }): Promise<{
  dataKey: Uint8Array;
  wrappedDataKey: Uint8Array;
  unsealShares: Uint8Array[];
}> {
  if (typeof opts !== 'object' || opts === null) throw new SealingError('initSealing needs { shares, threshold }');
  assertShareParams(opts.shares, opts.threshold);
  const dataKey = plain(randomBytes(DATA_KEY_LENGTH));
  return { dataKey, ...(await wrapWithNewUnsealKey(dataKey, opts.shares, opts.threshold)) };
}

/**
 * Rebuilds the unseal key from the shares and unwraps the data key. Exact duplicate shares (the same
 * share entered twice) count once. Any failure is a SealingError with UNSEAL_FAILED.
 */
export async function unsealDataKey(wrappedDataKey: Uint8Array, shares: Uint8Array[]): Promise<Uint8Array> {
  if (!(wrappedDataKey instanceof Uint8Array) || wrappedDataKey.length !== WRAPPED_DATA_KEY_LENGTH) {
    throw new SealingError(`wrapped data key must be ${WRAPPED_DATA_KEY_LENGTH} bytes`);
  }
  assertSealedFormat(wrappedDataKey, 'wrapped data key');
  if (!Array.isArray(shares) || shares.length === 0) throw new SealingError('no unseal shares given');
  const distinct = new Map<string, Uint8Array>();
  for (const [i, share] of shares.entries()) {
    if (!(share instanceof Uint8Array) || share.length !== UNSEAL_SHARE_LENGTH) {
      throw new SealingError(`unseal share ${i + 1} must be ${UNSEAL_SHARE_LENGTH} bytes`);
    }
    distinct.set(Buffer.from(share).toString('hex'), plain(share));
  }
  const list = [...distinct.values()];
  let unsealKey: Uint8Array;
  try {
    unsealKey = list.length === 1 ? list[0]!.slice(0, DATA_KEY_LENGTH) : await combine(list);
  } catch {
    // e.g. two different shares with the same x-coordinate: a tampered or foreign share.
    throw new SealingError(UNSEAL_FAILED);
  } finally {
    for (const s of list) s.fill(0);
  }
  try {
    const dataKey = aeadOpen(unsealKey, DATA_KEY_AD, wrappedDataKey);
    if (!dataKey || dataKey.length !== DATA_KEY_LENGTH) throw new SealingError(UNSEAL_FAILED);
    return dataKey;
  } finally {
    unsealKey.fill(0);
  }
}

/**
 * Re-keys the unseal shares (new unseal key, new shares, possibly a new m and u) without touching
 * the data key, so no sealed value needs re-encrypting. The old shares stop working for the new
 * wrapped key; the old wrapped key must be discarded.
 */
export async function rewrapDataKey(
  wrappedDataKey: Uint8Array,
  shares: Uint8Array[],
  opts: { shares: number; threshold: number },
): Promise<{ wrappedDataKey: Uint8Array; unsealShares: Uint8Array[] }> {
  if (typeof opts !== 'object' || opts === null) throw new SealingError('rewrapDataKey needs { shares, threshold }');
  assertShareParams(opts.shares, opts.threshold);
  const dataKey = await unsealDataKey(wrappedDataKey, shares);
  try {
    return await wrapWithNewUnsealKey(dataKey, opts.shares, opts.threshold);
  } finally {
    dataKey.fill(0);
  }
}

function shareChecksum(share: Uint8Array): string {
  return createHash('sha256').update(SHARE_CHECKSUM_DOMAIN).update(share).digest('hex').slice(0, 8);
}

/**
 * Text form of an unseal share for operators: "gk-unseal-1:<checksum>:<hex share>", where the
 * checksum is the first 4 bytes of SHA-256("gatekeeper/v1/unseal-share" || share), so a mistyped
 * share is reported as a typo instead of as a wrong share.
 */
export function encodeUnsealShare(share: Uint8Array): string {
  if (!(share instanceof Uint8Array) || share.length !== UNSEAL_SHARE_LENGTH) {
    throw new SealingError(`an unseal share is ${UNSEAL_SHARE_LENGTH} bytes`);
  }
  return `${SHARE_TEXT_PREFIX}:${shareChecksum(share)}:${Buffer.from(share).toString('hex')}`;
}

/** Parses encodeUnsealShare's text (surrounding whitespace and letter case are ignored). */
export function decodeUnsealShare(text: string): Uint8Array {
  if (typeof text !== 'string') throw new SealingError('an unseal share must be text');
  const parts = text.trim().toLowerCase().split(':');
  if (parts.length !== 3 || parts[0] !== SHARE_TEXT_PREFIX) {
    throw new SealingError(`this is not a gatekeeper unseal share: it must look like "${SHARE_TEXT_PREFIX}:<checksum>:<hex>"`);
  }
  const [, checksum, body] = parts as [string, string, string];
  if (!/^[0-9a-f]{8}$/.test(checksum)) throw new SealingError('the unseal share checksum must be 8 hex digits');
  if (!/^[0-9a-f]*$/.test(body)) throw new SealingError('the unseal share contains a character that is not a hex digit: it was mistyped');
  if (body.length !== UNSEAL_SHARE_LENGTH * 2) {
    throw new SealingError(`the unseal share has ${body.length} hex digits, ${UNSEAL_SHARE_LENGTH * 2} expected: it was truncated or mistyped`);
  }
  const share = plain(Buffer.from(body, 'hex'));
  if (shareChecksum(share) !== checksum) {
    throw new SealingError('the unseal share does not match its checksum: it was mistyped');
  }
  return share;
}
