// RFC 9591 Appendix E.5 FROST(secp256k1, SHA-256) vectors, driven through noble's secp256k1_FROST,
// the instance behind our `derivation` suite. Our signing wrappers refuse that suite on purpose (the
// derivation secret never signs), so the signing steps call the noble instance directly.
// Not checkable from outside: binding_factor (noble keeps it internal; it is covered because the
// signature shares, which depend on it, must match).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  decodeSigningCommitments, encodeSigningCommitments, frostSuite, identifierFromNumber, lagrangeAtZero,
} from '../../src/crypto/frost.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const V = JSON.parse(readFileSync(path.join(here, 'rfc9591-secp256k1-vectors.json'), 'utf8'));
const frost = frostSuite('derivation');
const Fn = secp256k1.Point.Fn;
const signers = { min: V.config.MIN_PARTICIPANTS, max: V.config.MAX_PARTICIPANTS };
const shares: { identifier: string; signingShare: Uint8Array }[] = V.inputs.participant_shares.map(
  (s: { identifier: number; participant_share: string }) => ({ identifier: identifierFromNumber(s.identifier), signingShare: hexToBytes(s.participant_share) }),
);
const poly = frost.utils.generateSecretPolynomial(
  signers, hexToBytes(V.inputs.group_secret_key), V.inputs.share_polynomial_coefficients.map((c: string) => BigInt('0x' + c)),
);
const pub = {
  signers,
  commitments: poly.commitment,
  verifyingShares: Object.fromEntries(shares.map((s) => [s.identifier, secp256k1.Point.BASE.multiply(Fn.fromBytes(s.signingShare)).toBytes(true)])),
};
const msg = hexToBytes(V.inputs.message);
const part = (n: number) => shares.find((s) => s.identifier === identifierFromNumber(n))!;

describe('RFC 9591 E.5 FROST(secp256k1, SHA-256)', () => {
  it('key generation: the group key and every share match the dealer polynomial', () => {
    expect(bytesToHex(poly.commitment[0]!)).toBe(V.inputs.group_public_key);
    for (const s of shares) expect(() => frost.validateSecret(s, pub)).not.toThrow();
    const wrong = { ...shares[0]!, signingShare: shares[1]!.signingShare };
    expect(() => frost.validateSecret(wrong, pub)).toThrow();
  });

  it('our Lagrange coefficients recover the group secret from any two shares', () => {
    for (const pair of [[0, 1], [0, 2], [1, 2]]) {
      const chosen = pair.map((i) => shares[i]!);
      const lambdas = lagrangeAtZero(chosen.map((s) => s.identifier));
      const secret = chosen.reduce((acc, s) => Fn.add(acc, Fn.mul(lambdas.get(s.identifier)!, Fn.fromBytes(s.signingShare))), 0n);
      expect(bytesToHex(Fn.toBytes(secret))).toBe(V.inputs.group_secret_key);
    }
  });

  it('round one, round two and aggregation reproduce the published values', () => {
    type R1 = { identifier: number; hiding_nonce_randomness: string; binding_nonce_randomness: string; hiding_nonce: string; binding_nonce: string; hiding_nonce_commitment: string; binding_nonce_commitment: string };
    const outputs: R1[] = V.round_one_outputs.outputs;
    const rounds = outputs.map((o) => {
      const randomness = [hexToBytes(o.hiding_nonce_randomness), hexToBytes(o.binding_nonce_randomness)];
      const rng = () => randomness.shift()!;
      const r = frost.commit(part(o.identifier), rng as never);
      expect(bytesToHex(r.nonces.hiding)).toBe(o.hiding_nonce);
      expect(bytesToHex(r.nonces.binding)).toBe(o.binding_nonce);
      expect(bytesToHex(r.commitments.hiding)).toBe(o.hiding_nonce_commitment);
      expect(bytesToHex(r.commitments.binding)).toBe(o.binding_nonce_commitment);
      return r;
    });
    // commitments survive our JSON encoding and point validation unchanged
    const commitmentList = rounds.map((r) => decodeSigningCommitments(JSON.parse(JSON.stringify(encodeSigningCommitments(r.commitments)))));
    const sigShares: Record<string, Uint8Array> = {};
    outputs.forEach((o, i) => {
      const share = frost.signShare(part(o.identifier), pub, rounds[i]!.nonces, commitmentList as never, msg);
      expect(bytesToHex(share)).toBe(V.round_two_outputs.outputs[i].sig_share);
      expect(frost.verifyShare(pub, commitmentList as never, msg, part(o.identifier).identifier, share)).toBe(true);
      sigShares[part(o.identifier).identifier] = share;
    });
    const sig = frost.aggregate(pub, commitmentList as never, msg, sigShares);
    expect(bytesToHex(sig)).toBe(V.final_output.sig);
    expect(frost.verify(sig, msg, hexToBytes(V.inputs.group_public_key))).toBe(true);
  });
});
