// RFC 9380 Appendix J.8.1: secp256k1_XMD:SHA-256_SSWU_RO_ vectors, run through the same
// hashToCurve that contractPoint uses (only the DST differs).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { hash_to_field } from '@noble/curves/abstract/hash-to-curve.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { hashToCurve } from '../../src/crypto/contract-key.js';
import { utf8 } from '../../src/crypto/bytes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = JSON.parse(readFileSync(path.join(here, 'rfc9380-secp256k1-vectors.json'), 'utf8')) as {
  dst: string; vectors: { msg: string; u0: string; u1: string; Px: string; Py: string }[];
};

describe('RFC 9380 J.8.1 secp256k1_XMD:SHA-256_SSWU_RO_', () => {
  it('has the five published messages', () => {
    expect(file.vectors.map((v) => v.msg.length)).toEqual([0, 3, 16, 133, 517]);
  });

  it.each(file.vectors.map((v) => [v.msg.slice(0, 16) || '(empty)', v] as const))('msg %s', (_name, v) => {
    const P = hashToCurve(utf8(v.msg), file.dst).toAffine();
    expect(P.x.toString(16).padStart(64, '0')).toBe(v.Px);
    expect(P.y.toString(16).padStart(64, '0')).toBe(v.Py);
    const u = hash_to_field(utf8(v.msg), 2, { DST: file.dst, p: secp256k1.Point.Fp.ORDER, m: 1, k: 128, expand: 'xmd', hash: sha256 });
    expect(u.map(([x]) => x!.toString(16).padStart(64, '0'))).toEqual([v.u0, v.u1]);
  });

  it('a different DST gives a different point (the contract DST separates our use)', () => {
    const a = hashToCurve(utf8('abc'), file.dst);
    const b = hashToCurve(utf8('abc'), 'GATEKEEPER-V1-CONTRACT-secp256k1_XMD:SHA-256_SSWU_RO_');
    expect(bytesToHex(a.toBytes(true))).not.toBe(bytesToHex(b.toBytes(true)));
  });
});
