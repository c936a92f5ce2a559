// Node and operator identity signatures: BIP340 Schnorr over secp256k1 (DESIGN §2), with one
// domain-separation tag per message type. The signed 32-byte message is the BIP340 tagged hash
// taggedHash("gatekeeper/v1/" + tag, message), so a signature made for one message type can never
// be presented as another, and any stock BIP340 verifier can check it given that hash.
//
// Signing and verification run in libsecp256k1 (Bitcoin Core's library, built to WebAssembly by
// bitcoinjs as tiny-secp256k1): a member checks a signature on every peer call and every DKG package,
// and there libsecp256k1 verifies about 6 times and signs about 10 times faster than the pure-JS code.
// noble's BIP340 stays the reference: test/crypto/identity.test.ts checks that both produce the same
// signatures and the same verdicts.
import { createHash, randomBytes } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import * as libsecp256k1 from 'tiny-secp256k1';

/** Every message type an identity key signs. Add new types here, and only here. */
export const SIGNATURE_TAGS = [
  'candidacy',
  'snapshot',
  'peer',
  'operator',
  'vote',
  'proposal',
  'challenge',
  'worker-publication',
  'policy',
  'reshare',
  'contract-governance',
  'provisioned',
  'handoff-dealing',
  'handoff-ack',
  'handoff-complaint',
  'handoff-proposal',
  'ceremony-message',
] as const;

export type SignatureTag = (typeof SIGNATURE_TAGS)[number];

const TAG_SET: ReadonlySet<string> = new Set(SIGNATURE_TAGS);

/** Bad input to a signing call (not used by verification, which answers false instead). */
export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

export function isSignatureTag(tag: unknown): tag is SignatureTag {
  return typeof tag === 'string' && TAG_SET.has(tag);
}

/** The BIP340 tag string of a message type. */
export function domainTag(tag: SignatureTag): string {
  if (!isSignatureTag(tag)) throw new IdentityError(`unknown signature tag: ${JSON.stringify(String(tag)).slice(0, 40)}`);
  return 'gatekeeper/v1/' + tag;
}

/**
 * BIP340 tagged hash SHA256(SHA256(t) || SHA256(t) || message), t = "gatekeeper/v1/" + tag. SHA-256
 * from node:crypto (OpenSSL): messages reach megabytes (snapshots, policies), where it is about ten
 * times faster than the JS one; test/crypto/identity.test.ts checks it against the definition.
 */
export function taggedMessageHash(tag: SignatureTag, message: Uint8Array): Uint8Array {
  if (!(message instanceof Uint8Array)) throw new IdentityError('message must be a Uint8Array');
  const t = createHash('sha256').update(domainTag(tag)).digest();
  return new Uint8Array(createHash('sha256').update(t).update(t).update(message).digest());
}

/** A fresh identity key: 32-byte secret, 32-byte x-only BIP340 public key. */
export function generateIdentityKey(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = schnorr.utils.randomSecretKey();
  return { secretKey, publicKey: schnorr.getPublicKey(secretKey) };
}

/** The 32-byte x-only public key of an identity secret key. */
export function identityPublicKey(secretKey: Uint8Array): Uint8Array {
  assertSecretKey(secretKey);
  return libsecp256k1.xOnlyPointFromScalar(secretKey);
}

/**
 * BIP340 signature (64 bytes) over taggedMessageHash(tag, message), with fresh auxiliary randomness.
 * The signature is verified before it is returned (as noble does), so a fault cannot leak the key.
 */
export function signTagged(secretKey: Uint8Array, tag: SignatureTag, message: Uint8Array): Uint8Array {
  assertSecretKey(secretKey);
  const hash = taggedMessageHash(tag, message);
  const signature = libsecp256k1.signSchnorr(hash, secretKey, new Uint8Array(randomBytes(32)));
  if (!libsecp256k1.verifySchnorr(hash, libsecp256k1.xOnlyPointFromScalar(secretKey), signature)) {
    throw new IdentityError('signing produced an invalid signature');
  }
  return signature;
}

/** True only for a valid signature by publicKey over this tag and message; false on any malformed input. */
export function verifyTagged(publicKey: Uint8Array, tag: SignatureTag, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!isSignatureTag(tag)) return false;
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    if (!(message instanceof Uint8Array)) return false;
    // noble refuses s = 0 (never produced by an honest signer); refuse it here too, so both agree.
    if (signature.subarray(32).every((b) => b === 0)) return false;
    return libsecp256k1.verifySchnorr(taggedMessageHash(tag, message), publicKey, signature);
  } catch {
    return false;
  }
}

function assertSecretKey(secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new IdentityError('identity secret key must be 32 bytes');
  }
  if (!secp256k1.utils.isValidSecretKey(secretKey)) {
    throw new IdentityError('identity secret key is not a valid secp256k1 scalar');
  }
}
