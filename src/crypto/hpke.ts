// HPKE (RFC 9180) base mode with DHKEM(secp256k1, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, as
// specified by draft-wahby-cfrg-hpke-kem-secp256k1. The key schedule is @hpke/core's CipherSuite, with
// HKDF and AES-GCM from @noble/hashes and Node (hpke-primitives.ts); only the KEM is ours, because
// @hpke/core ships no secp256k1 KEM. It plugs in through @hpke/core's public KemInterface. Key
// generation and DH run in libsecp256k1 (tiny-secp256k1): its constant-time point multiplication is
// several times faster than the pure-JS one, and a member seals and opens one message per other member
// in the DKG, and one partial per provisioning. Point checks and DeriveKeyPair's scalar checks use
// @noble/curves.
//
// KEM id: IANA assigned 0x0016 to DHKEM(secp256k1, HKDF-SHA256). The draft (and @hpke/core's own
// KemId table) still say 0x0013, and the draft's test vectors were computed with 0x0013. The id enters
// both suite_ids, so it is a parameter here: production ships 0x0016, the vector test passes 0x0013.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import * as libsecp256k1 from 'tiny-secp256k1';
import {
  CipherSuite,
  type KemId,
  type KemInterface,
  type RecipientContext,
  type RecipientContextParams,
  type SenderContext,
  type SenderContextParams,
} from '@hpke/core';
import type { webcrypto } from 'node:crypto';
import { asArrayBuffer, asBytes, concatBytes, utf8 } from './bytes.js';
import { Aes256GcmSync, HkdfSha256Sync } from './hpke-primitives.js';

// The lib is ES2022 without DOM, so the WebCrypto key types come from node:crypto.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type KeyType = webcrypto.KeyType;
type KeyUsage = webcrypto.KeyUsage;
type JsonWebKey = webcrypto.JsonWebKey;

/** IANA HPKE KEM id of DHKEM(secp256k1, HKDF-SHA256). */
export const KEM_SECP256K1_SHA256 = 0x0016;
/** The id the draft asked for and computed its test vectors with; for the vector test only. */
export const KEM_SECP256K1_SHA256_DRAFT = 0x0013;

/** Nsecret, Nenc, Npk, Nsk of the secp256k1 DHKEM (draft-wahby-cfrg-hpke-kem-secp256k1 §3). */
export const N_SECRET = 32;
export const N_ENC = 65;
export const N_PK = 65;
export const N_SK = 32;
/** AES-256-GCM tag length: the shortest possible ciphertext. */
export const AEAD_TAG_LENGTH = 16;

/** Any HPKE failure caused by bad input (keys, lengths). Messages never contain key bytes. */
export class HpkeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HpkeError';
  }
}

/** Opening failed: wrong key, wrong info/AAD, malformed or tampered enc or ciphertext. */
export class HpkeOpenError extends HpkeError {
  constructor(reason: string) {
    super(`HPKE open failed: ${reason}`);
    this.name = 'HpkeOpenError';
  }
}

// b"dkp_prk", b"candidate", b"eae_prk", b"shared_secret" (RFC 9180 §4.1, §7.1.3)
const LABEL_DKP_PRK = utf8('dkp_prk');
const LABEL_CANDIDATE = utf8('candidate');
const LABEL_EAE_PRK = utf8('eae_prk');
const LABEL_SHARED_SECRET = utf8('shared_secret');
// The draft's DeriveKeyPair bitmask for secp256k1: the whole top byte is kept (order is ~2^256).
const SECP256K1_BITMASK = 0xff;

/**
 * A secp256k1 key in the CryptoKey shape @hpke/core passes around. WebCrypto has no secp256k1, so the
 * raw bytes are carried in `key` (secret key: 32-byte scalar; public key: 65-byte uncompressed point).
 */
class Secp256k1Key implements CryptoKey {
  readonly algorithm = { name: 'ECDH-secp256k1' };
  readonly extractable = true;
  readonly usages: KeyUsage[];
  constructor(readonly type: KeyType, readonly key: Uint8Array) {
    this.usages = type === 'private' ? ['deriveBits'] : [];
  }
}

function keyBytes(key: CryptoKey, type: KeyType): Uint8Array {
  if (!(key instanceof Secp256k1Key) || key.type !== type) {
    throw new HpkeError(`expected a secp256k1 ${type} key`);
  }
  return key.key;
}

/** sk·G as a 65-byte uncompressed point (sk already checked to be a valid scalar). */
function uncompressedPublicKey(sk: Uint8Array): Uint8Array {
  const pk = libsecp256k1.pointFromScalar(sk, false);
  if (!pk) throw new HpkeError('secret key is not a valid 32-byte secp256k1 scalar');
  return pk;
}

/** Checks a 65-byte SEC1 uncompressed point on secp256k1 (RFC 9180 §7.1.1 DeserializePublicKey). */
export function isUncompressedPoint(bytes: Uint8Array): boolean {
  if (bytes.length !== N_PK || bytes[0] !== 0x04) return false;
  try {
    secp256k1.Point.fromBytes(bytes).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** A recipient public key, 33-byte compressed or 65-byte uncompressed, as 65-byte uncompressed. */
export function toUncompressedPublicKey(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || (publicKey.length !== 33 && publicKey.length !== 65)) {
    throw new HpkeError('recipient public key must be a 33-byte compressed or 65-byte uncompressed secp256k1 point');
  }
  try {
    return secp256k1.Point.fromBytes(publicKey).toBytes(false);
  } catch {
    throw new HpkeError('recipient public key is not a valid secp256k1 point');
  }
}

/**
 * DHKEM(secp256k1, HKDF-SHA256) — RFC 9180 §4.1 with draft-wahby-cfrg-hpke-kem-secp256k1.
 * DH(sk, pk) is the 32-byte x-coordinate of sk·pk; ExtractAndExpand uses the labeled HKDF with
 * suite_id = "KEM" || I2OSP(kemId, 2).
 */
export class DhkemSecp256k1HkdfSha256 implements KemInterface {
  readonly id: KemId;
  readonly secretSize = N_SECRET;
  readonly encSize = N_ENC;
  readonly publicKeySize = N_PK;
  readonly privateKeySize = N_SK;
  private readonly kdf = new HkdfSha256Sync();

  constructor(readonly kemId: number = KEM_SECP256K1_SHA256) {
    if (!Number.isInteger(kemId) || kemId < 0 || kemId > 0xffff) throw new HpkeError('KEM id must be a u16');
    // @hpke/core's KemId union lists the draft's 0x0013 only; the suite just serializes the number.
    this.id = kemId as KemId;
    this.kdf.init(concatBytes(utf8('KEM'), new Uint8Array([kemId >>> 8, kemId & 0xff])));
  }

  async serializePublicKey(key: CryptoKey): Promise<ArrayBuffer> {
    return asArrayBuffer(keyBytes(key, 'public'));
  }

  async deserializePublicKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    const bytes = asBytes(key);
    if (!isUncompressedPoint(bytes)) throw new HpkeError('public key is not a 65-byte uncompressed secp256k1 point');
    return new Secp256k1Key('public', bytes);
  }

  async serializePrivateKey(key: CryptoKey): Promise<ArrayBuffer> {
    return asArrayBuffer(keyBytes(key, 'private'));
  }

  async deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    const bytes = asBytes(key);
    if (!secp256k1.utils.isValidSecretKey(bytes)) throw new HpkeError('secret key is not a valid 32-byte secp256k1 scalar');
    return new Secp256k1Key('private', bytes);
  }

  async importKey(format: 'raw' | 'jwk', key: ArrayBuffer | JsonWebKey, isPublic = true): Promise<CryptoKey> {
    if (format !== 'raw' || !(key instanceof ArrayBuffer)) throw new HpkeError('only raw secp256k1 keys can be imported');
    return isPublic ? this.deserializePublicKey(key) : this.deserializePrivateKey(key);
  }

  async generateKeyPair(): Promise<CryptoKeyPair> {
    return this.keyPairFromSecret(secp256k1.utils.randomSecretKey());
  }

  /** RFC 9180 §7.1.3 DeriveKeyPair with the draft's bitmask 0xff. */
  async deriveKeyPair(ikm: ArrayBufferLike | ArrayBufferView): Promise<CryptoKeyPair> {
    const dkpPrk = await this.kdf.labeledExtract(new Uint8Array(0), LABEL_DKP_PRK, asBytes(ikm));
    for (let counter = 0; counter < 256; counter++) {
      const candidate = new Uint8Array(
        await this.kdf.labeledExpand(dkpPrk, LABEL_CANDIDATE, new Uint8Array([counter]), N_SK),
      );
      candidate[0] = candidate[0]! & SECP256K1_BITMASK;
      // isValidSecretKey is exactly the draft's test: sk != 0 and sk < order.
      if (secp256k1.utils.isValidSecretKey(candidate)) return this.keyPairFromSecret(candidate);
    }
    throw new HpkeError('DeriveKeyPair: no valid candidate within 256 tries');
  }

  /** RFC 9180 §4.1 Encap (base mode; auth mode is not offered). */
  async encap(params: SenderContextParams): Promise<{ sharedSecret: ArrayBuffer; enc: ArrayBuffer }> {
    if (params.senderKey !== undefined) throw new HpkeError('auth mode is not supported');
    let ephemeral: CryptoKeyPair;
    if (params.ekm === undefined) ephemeral = await this.generateKeyPair();
    else if (isKeyPair(params.ekm)) ephemeral = params.ekm;
    else ephemeral = await this.deriveKeyPair(params.ekm); // test vectors only
    const enc = keyBytes(ephemeral.publicKey, 'public');
    const pkRm = keyBytes(params.recipientPublicKey, 'public');
    const dh = this.dh(keyBytes(ephemeral.privateKey, 'private'), pkRm);
    return { sharedSecret: await this.extractAndExpand(dh, concatBytes(enc, pkRm)), enc: asArrayBuffer(enc) };
  }

  /** RFC 9180 §4.1 Decap (base mode). */
  async decap(params: RecipientContextParams): Promise<ArrayBuffer> {
    if (params.senderPublicKey !== undefined) throw new HpkeError('auth mode is not supported');
    const enc = asBytes(params.enc);
    if (!isUncompressedPoint(enc)) throw new HpkeError('enc is not a 65-byte uncompressed secp256k1 point');
    const skR = keyBytes(isKeyPair(params.recipientKey) ? params.recipientKey.privateKey : params.recipientKey, 'private');
    // A recipient that passes its key pair saves deriving pkR (a base multiplication). A pkR that is
    // not skR's only changes kem_context, so the open fails as with any wrong key.
    const pkRm = isKeyPair(params.recipientKey) ? keyBytes(params.recipientKey.publicKey, 'public') : uncompressedPublicKey(skR);
    return this.extractAndExpand(this.dh(skR, enc), concatBytes(enc, pkRm));
  }

  private keyPairFromSecret(sk: Uint8Array): CryptoKeyPair {
    return {
      privateKey: new Secp256k1Key('private', sk),
      publicKey: new Secp256k1Key('public', uncompressedPublicKey(sk)),
    };
  }

  // DH(sk, pk): x-coordinate of sk·pk (draft §3, as for the NIST curves in RFC 9180 §7.1.1).
  private dh(sk: Uint8Array, pk: Uint8Array): Uint8Array {
    const shared = libsecp256k1.pointMultiply(pk, sk, true);
    if (!shared) throw new HpkeError('DH produced the point at infinity');
    return shared.subarray(1);
  }

  // RFC 9180 §4.1 ExtractAndExpand(dh, kem_context)
  protected async extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Promise<ArrayBuffer> {
    const eaePrk = await this.kdf.labeledExtract(new Uint8Array(0), LABEL_EAE_PRK, dh);
    return this.kdf.labeledExpand(eaePrk, LABEL_SHARED_SECRET, kemContext, N_SECRET);
  }
}

function assertBytes(x: unknown, what: string): void {
  if (!(x instanceof Uint8Array)) throw new HpkeError(`${what} must be a Uint8Array`);
}

function isKeyPair(x: unknown): x is CryptoKeyPair {
  return typeof x === 'object' && x !== null && 'privateKey' in x && 'publicKey' in x;
}

const suites = new Map<number, { suite: CipherSuite; kem: DhkemSecp256k1HkdfSha256 }>();

/** The RFC 9180 cipher suite (DHKEM(secp256k1), HKDF-SHA256, AES-256-GCM) for a KEM id. */
export function hpkeSuite(kemId: number = KEM_SECP256K1_SHA256): { suite: CipherSuite; kem: DhkemSecp256k1HkdfSha256 } {
  let s = suites.get(kemId);
  if (!s) {
    const kem = new DhkemSecp256k1HkdfSha256(kemId);
    s = { suite: new CipherSuite({ kem, kdf: new HkdfSha256Sync(), aead: new Aes256GcmSync() }), kem };
    suites.set(kemId, s);
  }
  return s;
}

/** A fresh transport key pair: 32-byte secret key, 65-byte uncompressed public key. */
export function generateTransportKeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = secp256k1.utils.randomSecretKey();
  return { secretKey, publicKey: uncompressedPublicKey(secretKey) };
}

/** RFC 9180 §7.1.3 DeriveKeyPair(ikm) as bytes. */
export async function deriveKeyPair(
  ikm: Uint8Array,
  kemId: number = KEM_SECP256K1_SHA256,
): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
  const { kem } = hpkeSuite(kemId);
  const kp = await kem.deriveKeyPair(ikm);
  return {
    secretKey: new Uint8Array(await kem.serializePrivateKey(kp.privateKey)),
    publicKey: new Uint8Array(await kem.serializePublicKey(kp.publicKey)),
  };
}

export interface SetupOptions {
  kemId?: number;
  /** Ephemeral ikm for DeriveKeyPair: ONLY for known-answer tests; a reused ikm breaks HPKE. */
  ikmE?: Uint8Array;
}

/** RFC 9180 §5.1.1 SetupBaseS(pkR, info): the sender context and enc. */
export async function setupBaseS(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  options: SetupOptions = {},
): Promise<{ enc: Uint8Array; context: SenderContext }> {
  const { suite, kem } = hpkeSuite(options.kemId);
  const pkR = await kem.deserializePublicKey(toUncompressedPublicKey(recipientPublicKey));
  const params: SenderContextParams = { recipientPublicKey: pkR, info: asArrayBuffer(info) };
  if (options.ikmE !== undefined) params.ekm = asArrayBuffer(options.ikmE);
  const context = await suite.createSenderContext(params);
  return { enc: new Uint8Array(context.enc), context };
}

/**
 * RFC 9180 §5.1.1 SetupBaseR(enc, skR, info): the recipient context. Throws HpkeOpenError.
 * `recipientPublicKey` (65 bytes, skR's public key) spares deriving it again.
 */
export async function setupBaseR(
  recipientSecretKey: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  options: { kemId?: number; recipientPublicKey?: Uint8Array } = {},
): Promise<RecipientContext> {
  const { suite, kem } = hpkeSuite(options.kemId);
  if (!(recipientSecretKey instanceof Uint8Array) || !secp256k1.utils.isValidSecretKey(recipientSecretKey)) {
    throw new HpkeOpenError('recipient secret key is not a valid 32-byte secp256k1 scalar');
  }
  if (!(enc instanceof Uint8Array) || !isUncompressedPoint(enc)) {
    throw new HpkeOpenError('enc is not a 65-byte uncompressed secp256k1 point');
  }
  const skR = await kem.deserializePrivateKey(recipientSecretKey);
  let recipientKey: CryptoKey | CryptoKeyPair = skR;
  if (options.recipientPublicKey !== undefined) {
    try {
      recipientKey = { privateKey: skR, publicKey: await kem.deserializePublicKey(options.recipientPublicKey) };
    } catch {
      throw new HpkeOpenError('recipient public key is not a 65-byte uncompressed secp256k1 point');
    }
  }
  try {
    return await suite.createRecipientContext({ recipientKey, enc: asArrayBuffer(enc), info: asArrayBuffer(info) });
  } catch {
    throw new HpkeOpenError('key encapsulation could not be opened');
  }
}

/** RFC 9180 §6.1 single-shot SealBase. Returns enc (65 bytes) and the AEAD ciphertext with tag. */
export async function hpkeSeal(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Promise<{ enc: Uint8Array; ciphertext: Uint8Array }> {
  assertBytes(info, 'info');
  assertBytes(plaintext, 'plaintext');
  assertBytes(aad, 'aad');
  const { enc, context } = await setupBaseS(recipientPublicKey, info);
  const ciphertext = new Uint8Array(await context.seal(asArrayBuffer(plaintext), asArrayBuffer(aad)));
  return { enc, ciphertext };
}

/** RFC 9180 §6.1 single-shot OpenBase. Any failure is an HpkeOpenError without key material. */
export async function hpkeOpen(
  recipientSecretKey: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
  options: { recipientPublicKey?: Uint8Array } = {},
): Promise<Uint8Array> {
  if (!(info instanceof Uint8Array) || !(aad instanceof Uint8Array)) throw new HpkeOpenError('info and aad must be bytes');
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length < AEAD_TAG_LENGTH) {
    throw new HpkeOpenError(`ciphertext is shorter than the ${AEAD_TAG_LENGTH}-byte AEAD tag`);
  }
  const context = await setupBaseR(recipientSecretKey, enc, info, options);
  try {
    return new Uint8Array(await context.open(asArrayBuffer(ciphertext), asArrayBuffer(aad)));
  } catch {
    throw new HpkeOpenError('ciphertext does not authenticate (wrong key, info or AAD, or tampered data)');
  }
}

/** info for peer-to-peer messages of one kind: "gatekeeper/v1/peer/" || context. */
export function peerInfo(context: string): Uint8Array {
  if (typeof context !== 'string' || context.length === 0) throw new HpkeError('peer context must be a non-empty string');
  return utf8('gatekeeper/v1/peer/' + context);
}

/** Seals a peer message to a transport key: enc(65) || ciphertext. */
export async function sealToPeer(recipientPublicKey: Uint8Array, context: string, plaintext: Uint8Array): Promise<Uint8Array> {
  const { enc, ciphertext } = await hpkeSeal(recipientPublicKey, peerInfo(context), plaintext);
  return concatBytes(enc, ciphertext);
}

/** Opens enc(65) || ciphertext from sealToPeer with the same context. Throws HpkeOpenError. */
export async function openFromPeer(recipientSecretKey: Uint8Array, context: string, sealed: Uint8Array, recipientPublicKey?: Uint8Array): Promise<Uint8Array> {
  const info = peerInfo(context);
  if (!(sealed instanceof Uint8Array) || sealed.length < N_ENC + AEAD_TAG_LENGTH) {
    throw new HpkeOpenError(`sealed peer message is shorter than enc (${N_ENC}) plus the AEAD tag (${AEAD_TAG_LENGTH})`);
  }
  return hpkeOpen(recipientSecretKey, sealed.subarray(0, N_ENC), info, sealed.subarray(N_ENC), undefined, { recipientPublicKey });
}

// ---------------------------------------------------------------------------------------------
// Verifiable complaints (DESIGN §3.4): a recipient discloses the DH value of one ciphertext, sk_R·enc,
// with a DLEQ proof (src/ceremony/complaint.ts), and anyone opens that ciphertext with it. Only the
// KEM's DH step is replaced by the disclosed value; ExtractAndExpand, the key schedule and the AEAD
// stay those of @hpke/core, so a ciphertext opens here exactly when it opens for the recipient.

/** A KEM whose Decap uses a disclosed DH x-coordinate instead of a secret key. */
class DisclosedDhKem extends DhkemSecp256k1HkdfSha256 {
  constructor(kemId: number, private readonly dhX: Uint8Array, private readonly pkRm: Uint8Array) {
    super(kemId);
  }

  override async decap(params: RecipientContextParams): Promise<ArrayBuffer> {
    const enc = asBytes(params.enc);
    if (!isUncompressedPoint(enc)) throw new HpkeError('enc is not a 65-byte uncompressed secp256k1 point');
    return this.extractAndExpand(this.dhX, concatBytes(enc, this.pkRm));
  }
}

/**
 * RFC 9180 §6.1 OpenBase of `ciphertext` (base mode, single shot) given the DH value sk_R·enc as a
 * point (33-byte compressed; its x-coordinate is DH(skR, pkE)) instead of skR. The caller must have
 * checked that the point really is sk_R·enc (complaint.ts checks a DLEQ proof). Throws HpkeOpenError.
 */
export async function hpkeOpenWithDisclosedDh(
  dhPoint: Uint8Array,
  recipientPublicKey: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
  kemId: number = KEM_SECP256K1_SHA256,
): Promise<Uint8Array> {
  if (!(dhPoint instanceof Uint8Array) || dhPoint.length !== 33) throw new HpkeOpenError('disclosed DH value must be a 33-byte point');
  if (!(info instanceof Uint8Array) || !(aad instanceof Uint8Array)) throw new HpkeOpenError('info and aad must be bytes');
  if (!(enc instanceof Uint8Array) || !isUncompressedPoint(enc)) throw new HpkeOpenError('enc is not a 65-byte uncompressed secp256k1 point');
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length < AEAD_TAG_LENGTH) {
    throw new HpkeOpenError(`ciphertext is shorter than the ${AEAD_TAG_LENGTH}-byte AEAD tag`);
  }
  let pkRm: Uint8Array;
  try {
    pkRm = toUncompressedPublicKey(recipientPublicKey);
    secp256k1.Point.fromBytes(dhPoint).assertValidity();
  } catch {
    throw new HpkeOpenError('recipient key or disclosed DH value is not a secp256k1 point');
  }
  const kem = new DisclosedDhKem(kemId, dhPoint.slice(1), pkRm);
  const suite = new CipherSuite({ kem, kdf: new HkdfSha256Sync(), aead: new Aes256GcmSync() });
  let context: RecipientContext;
  try {
    // The KEM ignores recipientKey: the disclosed DH value stands in for it.
    context = await suite.createRecipientContext({ recipientKey: new Secp256k1Key('public', pkRm), enc: asArrayBuffer(enc), info: asArrayBuffer(info) });
  } catch {
    throw new HpkeOpenError('key encapsulation could not be opened');
  }
  try {
    return new Uint8Array(await context.open(asArrayBuffer(ciphertext), asArrayBuffer(aad)));
  } catch {
    throw new HpkeOpenError('ciphertext does not authenticate under the disclosed DH value');
  }
}
