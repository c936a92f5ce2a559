// Invocation envelope v1 (DESIGN §8, fixed wire format): a client encrypts an invocation to a contract
// key pk_c with HPKE (RFC 9180 base mode, DHKEM(secp256k1) with KEM id 0x0016, HKDF-SHA256,
// AES-256-GCM):
//   envelope = 0x01 || lp(cid) || u32be(v) || enc(65, uncompressed) || ciphertext
//   info     = "gatekeeper/v1/invocation" || lp(cid) || u32be(v);  AAD empty unless the app gives one.
// Binding cid and v into info means an envelope relabelled for another contract or key version fails.
import { concatBytes, lp, u32be, utf8 } from './bytes.js';
import { AEAD_TAG_LENGTH, N_ENC, hpkeOpen, hpkeSeal, isUncompressedPoint } from './hpke.js';

export const ENVELOPE_VERSION = 0x01;
const INVOCATION_INFO_PREFIX = utf8('gatekeeper/v1/invocation');

/** A malformed envelope; the message says which part is wrong. */
export class EnvelopeError extends Error {
  constructor(message: string) {
    super(`invalid invocation envelope: ${message}`);
    this.name = 'EnvelopeError';
  }
}

export interface InvocationEnvelope {
  /** Contract id bytes, 1..65535 bytes. */
  cid: Uint8Array;
  /** Contract key version, u32. */
  version: number;
  /** HPKE encapsulated key, 65-byte uncompressed secp256k1 point. */
  enc: Uint8Array;
  /** AES-256-GCM ciphertext with its 16-byte tag. */
  ciphertext: Uint8Array;
}

function checkCid(cid: unknown): asserts cid is Uint8Array {
  if (!(cid instanceof Uint8Array)) throw new EnvelopeError('cid must be bytes');
  if (cid.length === 0) throw new EnvelopeError('cid is empty');
  if (cid.length > 0xffff) throw new EnvelopeError(`cid is ${cid.length} bytes, at most 65535 allowed`);
}

function checkVersion(version: unknown): asserts version is number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > 0xffffffff) {
    throw new EnvelopeError('key version must be an integer in [0, 2^32)');
  }
}

function checkEnc(enc: unknown): asserts enc is Uint8Array {
  if (!(enc instanceof Uint8Array) || enc.length !== N_ENC) throw new EnvelopeError(`enc must be ${N_ENC} bytes`);
  if (!isUncompressedPoint(enc)) throw new EnvelopeError('enc is not an uncompressed secp256k1 point');
}

function checkCiphertext(ciphertext: unknown): asserts ciphertext is Uint8Array {
  if (!(ciphertext instanceof Uint8Array)) throw new EnvelopeError('ciphertext must be bytes');
  if (ciphertext.length < AEAD_TAG_LENGTH) {
    throw new EnvelopeError(`ciphertext is ${ciphertext.length} bytes, shorter than the ${AEAD_TAG_LENGTH}-byte AEAD tag`);
  }
}

/** HPKE info of an invocation: "gatekeeper/v1/invocation" || lp(cid) || u32be(v). */
export function invocationInfo(cid: Uint8Array, version: number): Uint8Array {
  checkCid(cid);
  checkVersion(version);
  return concatBytes(INVOCATION_INFO_PREFIX, lp(cid), u32be(version));
}

/** 0x01 || lp(cid) || u32be(v) || enc || ciphertext, after checking every field. */
export function encodeEnvelope(envelope: InvocationEnvelope): Uint8Array {
  const { cid, version, enc, ciphertext } = envelope;
  checkCid(cid);
  checkVersion(version);
  checkEnc(enc);
  checkCiphertext(ciphertext);
  return concatBytes(new Uint8Array([ENVELOPE_VERSION]), lp(cid), u32be(version), enc, ciphertext);
}

/** Parses an envelope strictly; the returned fields are copies. */
export function decodeEnvelope(bytes: Uint8Array): InvocationEnvelope {
  if (!(bytes instanceof Uint8Array)) throw new EnvelopeError('envelope must be bytes');
  if (bytes.length === 0) throw new EnvelopeError('envelope is empty');
  if (bytes[0] !== ENVELOPE_VERSION) {
    throw new EnvelopeError(`unsupported format version 0x${bytes[0]!.toString(16).padStart(2, '0')} (expected 0x01)`);
  }
  let off = 1;
  if (bytes.length < off + 2) throw new EnvelopeError('truncated before the cid length prefix');
  const cidLen = (bytes[off]! << 8) | bytes[off + 1]!;
  off += 2;
  if (cidLen === 0) throw new EnvelopeError('cid is empty');
  if (bytes.length < off + cidLen) {
    throw new EnvelopeError(`truncated cid: the length prefix says ${cidLen} bytes, ${bytes.length - off} remain`);
  }
  const cid = bytes.slice(off, off + cidLen);
  off += cidLen;
  if (bytes.length < off + 4) throw new EnvelopeError('truncated before the 4-byte key version');
  const version = new DataView(bytes.buffer, bytes.byteOffset + off, 4).getUint32(0, false);
  off += 4;
  if (bytes.length < off + N_ENC) throw new EnvelopeError(`truncated enc: ${bytes.length - off} bytes where ${N_ENC} are needed`);
  const enc = bytes.slice(off, off + N_ENC);
  off += N_ENC;
  checkEnc(enc);
  const ciphertext = bytes.slice(off);
  checkCiphertext(ciphertext);
  return { cid, version, enc, ciphertext };
}

/** Encrypts an invocation to a contract key (33- or 65-byte SEC1) and returns the v1 envelope. */
export async function sealInvocation(
  contractPublicKey: Uint8Array,
  cid: Uint8Array,
  version: number,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Promise<Uint8Array> {
  const info = invocationInfo(cid, version);
  const { enc, ciphertext } = await hpkeSeal(contractPublicKey, info, plaintext, aad);
  return encodeEnvelope({ cid, version, enc, ciphertext });
}

/**
 * Decodes and decrypts an envelope with the contract secret key. Throws EnvelopeError for a malformed
 * envelope and HpkeOpenError when it does not decrypt (wrong key, cid/version relabelled, tampered).
 */
export async function openInvocation(
  contractSecretKey: Uint8Array,
  envelope: Uint8Array,
  aad?: Uint8Array,
): Promise<{ cid: Uint8Array; version: number; plaintext: Uint8Array }> {
  const { cid, version, enc, ciphertext } = decodeEnvelope(envelope);
  const plaintext = await hpkeOpen(contractSecretKey, enc, invocationInfo(cid, version), ciphertext, aad);
  return { cid, version, plaintext };
}
