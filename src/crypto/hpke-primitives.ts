// The KDF and AEAD of our HPKE suite (RFC 9180 §7.2 HKDF-SHA256, §7.3 AES-256-GCM), as @hpke/core's
// KdfInterface and AeadInterface, computed synchronously: HKDF (RFC 5869) by @noble/hashes, AES-GCM by
// Node's OpenSSL. @hpke/core's own classes go through WebCrypto, where every HMAC is an imported key
// and a job on the thread pool: a seal or open made about ten of them, and a hand-off member seals
// and opens one sub-share per secret per member (bench/handoff showed WebCrypto's overhead at about
// a seventh of a member's CPU). HPKE's labeled functions and key schedule stay @hpke/core's; only
// the two primitives under them change, and the RFC 9180 vectors (test/crypto/hpke*.test.ts) pin them.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { AeadId, HkdfSha256, type AeadEncryptionContext, type AeadInterface } from '@hpke/core';
import { asArrayBuffer, asBytes, viewBytes } from './bytes.js';

const HASH_SIZE = 32;
const KEY_SIZE = 32;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;

type Bytes = ArrayBufferLike | ArrayBufferView;

/** HKDF-SHA256 (RFC 5869) under @hpke/core's labeled functions. */
export class HkdfSha256Sync extends HkdfSha256 {
  // RFC 5869 §2.2 HKDF-Extract(salt, IKM); RFC 9180 passes either no salt or a PRK-sized one.
  override async extract(salt: ArrayBuffer, ikm: ArrayBuffer): Promise<ArrayBuffer> {
    const s = viewBytes(salt);
    if (s.byteLength !== 0 && s.byteLength !== HASH_SIZE) throw new Error('HKDF-Extract: the salt must be empty or 32 bytes');
    return asArrayBuffer(extract(sha256, viewBytes(ikm), s.byteLength ? s : new Uint8Array(HASH_SIZE)));
  }

  // RFC 5869 §2.3 HKDF-Expand(PRK, info, L)
  override async expand(prk: ArrayBuffer, info: ArrayBuffer, len: number): Promise<ArrayBuffer> {
    return asArrayBuffer(expand(sha256, viewBytes(prk), viewBytes(info), len));
  }

  override async extractAndExpand(salt: ArrayBuffer, ikm: ArrayBuffer, info: ArrayBuffer, len: number): Promise<ArrayBuffer> {
    return this.expand(await this.extract(salt, ikm), info, len);
  }
}

/** AES-256-GCM with a 16-byte tag appended to the ciphertext, as RFC 9180 §5.2 Seal/Open use it. */
export class Aes256GcmSync implements AeadInterface {
  readonly id = AeadId.Aes256Gcm;
  readonly keySize = KEY_SIZE;
  readonly nonceSize = NONCE_SIZE;
  readonly tagSize = TAG_SIZE;

  createEncryptionContext(key: Bytes): AeadEncryptionContext {
    const k = asBytes(key);
    if (k.byteLength !== KEY_SIZE) throw new Error('AES-256-GCM: the key must be 32 bytes');
    return {
      async seal(iv: Bytes, data: Bytes, aad: Bytes): Promise<ArrayBuffer> {
        const c = createCipheriv('aes-256-gcm', k, viewBytes(iv), { authTagLength: TAG_SIZE });
        c.setAAD(viewBytes(aad));
        const out = Buffer.concat([c.update(viewBytes(data)), c.final(), c.getAuthTag()]);
        return asArrayBuffer(out);
      },
      async open(iv: Bytes, data: Bytes, aad: Bytes): Promise<ArrayBuffer> {
        const d = viewBytes(data);
        if (d.byteLength < TAG_SIZE) throw new Error('AES-256-GCM: the ciphertext is shorter than its tag');
        const c = createDecipheriv('aes-256-gcm', k, viewBytes(iv), { authTagLength: TAG_SIZE });
        c.setAAD(viewBytes(aad));
        c.setAuthTag(d.subarray(d.byteLength - TAG_SIZE));
        const out = Buffer.concat([c.update(d.subarray(0, d.byteLength - TAG_SIZE)), c.final()]);
        return asArrayBuffer(out);
      },
    };
  }
}
