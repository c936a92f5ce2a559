// Verifiable complaints (DESIGN §3.4), for the genesis DKG's round-2 shares and the hand-off's
// sub-shares alike. A recipient that finds its share bad discloses the HPKE DH value of that one
// ciphertext, sk_R·enc, with a Chaum–Pedersen DLEQ proof that log_G(pk_R) = log_enc(sk_R·enc)
// (RFC 9497 §2.2 shape, noble's `abstract/oprf`). Anyone then runs HPKE's ExtractAndExpand and key
// schedule on it (hpke.ts hpkeOpenWithDisclosedDh), opens that ciphertext, and checks the share
// against the sender's signed commitments. The proof fixes the DH value, so a recipient cannot make
// an honest sender's ciphertext open to something else: a false complaint cannot be made. Only the
// disputed ciphertext opens; the recipient's other ciphertexts and its transport key stay secret.
import { secp256k1, secp256k1_hasher } from '@noble/curves/secp256k1.js';
import { createOPRF } from '@noble/curves/abstract/oprf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, u32be, utf8 } from '../crypto/bytes.js';
import { hpkeOpenWithDisclosedDh, N_ENC, AEAD_TAG_LENGTH, peerInfo } from '../crypto/hpke.js';
import { verifyTagged } from '../crypto/identity.js';
import { assertIdentifier, decodePoint, decodeScalar, identifierScalar, type Identifier, type Rng } from '../crypto/frost.js';
import { evaluateVss } from '../crypto/vss.js';
import { ceremonyMessageBytes, sealContext } from './engine.js';
import { decodeRound1Body, decodeRound2Body, PHASE_ROUND1, PHASE_ROUND2, SUITES, type GenesisParty } from './genesis/messages.js';

export type { GenesisParty } from './genesis/messages.js';

/** Domain separation of the disclosure proofs (never valid as OPRF or contract-partial proofs). */
export const COMPLAINT_DLEQ_CONTEXT = 'gatekeeper/v1/complaint-dleq';

const Point = secp256k1.Point;
const ONE = Point.Fn.toBytes(1n);
const dleq = createOPRF({
  name: COMPLAINT_DLEQ_CONTEXT,
  Point,
  hash: sha256,
  hashToGroup: secp256k1_hasher.hashToCurve,
  hashToScalar: secp256k1_hasher.hashToScalar,
}).voprf;

/** A complaint refused as malformed before it could be judged. */
export class ComplaintError extends Error {
  override name = 'ComplaintError';
}

/** The disclosed DH value of one ciphertext: Q = sk_R·enc (33 bytes) and its DLEQ proof (c || s, 64 bytes). */
export interface Disclosure {
  dhPoint: Uint8Array;
  proof: Uint8Array;
}

/** The outcome of judging a complaint; `reason` is a short fixed phrase, never echoed input. */
export type Verdict =
  | { verdict: 'dealer-guilty'; reason: string }
  | { verdict: 'complaint-false'; reason: string };

const guilty = (reason: string): Verdict => ({ verdict: 'dealer-guilty', reason });
const falseComplaint = (reason: string): Verdict => ({ verdict: 'complaint-false', reason });

const compressed = (p: Uint8Array, what: string): Uint8Array => {
  try {
    const P = Point.fromBytes(p);
    P.assertValidity();
    if (P.is0()) throw new Error('identity');
    return P.toBytes(true);
  } catch {
    throw new ComplaintError(`${what}: not a secp256k1 point`);
  }
};

/**
 * The recipient discloses sk_R·enc for one ciphertext, with a proof against its transport key
 * (65-byte uncompressed). The proof nonce is hedged: fresh randomness plus the key and the statement.
 */
export function discloseSharedSecret(transportSecret: Uint8Array, transportPublic: Uint8Array, enc: Uint8Array, rng: Rng = randomBytes): Disclosure {
  const pk = compressed(transportPublic, 'transport key');
  const E = compressed(enc, 'enc');
  const statement = concatBytes(pk, E);
  let counter = 0;
  const hedged = (len = 32) => hkdf(sha256, concatBytes(rng(32), transportSecret), statement, concatBytes(utf8('gatekeeper/v1/complaint-nonce'), u32be(counter++)), len);
  const { evaluated, proof } = dleq.blindEvaluate(Uint8Array.from(transportSecret), pk, E, hedged as Parameters<typeof dleq.blindEvaluate>[3]);
  return { dhPoint: Uint8Array.from(evaluated), proof: Uint8Array.from(proof) };
}

/** True iff the disclosure proves dhPoint = sk_R·enc for the sk_R behind `transportPublic`. */
export function verifyDisclosure(transportPublic: Uint8Array, enc: Uint8Array, d: Disclosure): boolean {
  try {
    if (!(d?.dhPoint instanceof Uint8Array) || d.dhPoint.length !== 33) return false;
    if (!(d.proof instanceof Uint8Array) || d.proof.length !== 64) return false;
    decodePoint(d.dhPoint, 'disclosed DH value');
    dleq.finalize(new Uint8Array(0), ONE, Uint8Array.from(d.dhPoint), compressed(enc, 'enc'), compressed(transportPublic, 'transport key'), Uint8Array.from(d.proof));
    return true;
  } catch {
    return false;
  }
}

/** One share the plaintext must hold: f(x) for the sender's committed polynomial. */
export interface CommittedShare {
  /** Feldman commitments C[0..k−1], 33 bytes each, as the sender signed them. */
  commitments: Uint8Array[];
  /** Hand-off: C[0] must equal the dealer's verifying share. Genesis: absent. */
  constantTerm?: Uint8Array;
}

/**
 * A disputed ciphertext with everything a third party needs to judge it. The caller (genesis or
 * hand-off) has already checked that the sender signed `enc || ciphertext` and the commitments, and
 * that `recipientTransportKey` is the accuser's roster key: a complaint without that evidence is
 * refused before it gets here.
 */
export interface SealedShareCase {
  recipientTransportKey: Uint8Array;
  recipientIdentifier: Identifier;
  enc: Uint8Array;
  ciphertext: Uint8Array;
  info: Uint8Array;
  disclosure: Disclosure;
  /** The shares the plaintext must carry, in the order `parse` returns them. */
  expected: CommittedShare[];
  /** Reads the plaintext into one 32-byte share per `expected` entry; null if it is malformed. */
  parse: (plaintext: Uint8Array) => Uint8Array[] | null;
}

/**
 * Judges a complaint about one sealed share (DESIGN §3.4): 'complaint-false' unless the disclosure
 * proves the DH value AND, with it, the ciphertext fails to open, or opens to something malformed,
 * or to a share that does not match the sender's commitments (or a constant term that is not the
 * dealer's verifying share).
 */
export async function verifyComplaint(c: SealedShareCase): Promise<Verdict> {
  if (!verifyDisclosure(c.recipientTransportKey, c.enc, c.disclosure)) return falseComplaint('the disclosed DH value is not proven against the accuser\'s transport key');
  const x = identifierScalar(assertIdentifier(c.recipientIdentifier, 'recipient identifier'));
  // A dealing whose public part is already wrong is the dealer's fault whatever the ciphertext says.
  const parsed: InstanceType<typeof Point>[][] = [];
  for (const e of c.expected) {
    let C: InstanceType<typeof Point>[];
    try {
      C = e.commitments.map((p, j) => decodePoint(p, `C_${j}`));
    } catch {
      return guilty('the signed commitments are malformed');
    }
    if (C.length < 1) return guilty('the signed commitments are malformed');
    if (e.constantTerm && !C[0]!.equals(decodePoint(e.constantTerm, 'verifying share'))) return guilty('C[0] is not the dealer\'s verifying share');
    parsed.push(C);
  }
  let plaintext: Uint8Array;
  try {
    plaintext = await hpkeOpenWithDisclosedDh(c.disclosure.dhPoint, c.recipientTransportKey, c.enc, c.info, c.ciphertext);
  } catch {
    return guilty('the signed ciphertext does not open under the proven DH value');
  }
  let shares: Uint8Array[] | null;
  try {
    shares = c.parse(plaintext);
  } catch {
    shares = null;
  }
  plaintext.fill(0);
  if (!shares || shares.length !== parsed.length) return guilty('the ciphertext opens to a malformed share');
  for (let i = 0; i < parsed.length; i++) {
    let y: bigint;
    try {
      y = decodeScalar(shares[i], 'share');
    } catch {
      return guilty('the ciphertext opens to a value that is not a scalar');
    }
    if (!Point.BASE.multiply(y).equals(evaluateVss(parsed[i]!, x))) return guilty('the share does not match the sender\'s commitments');
  }
  return falseComplaint('the share opens and matches the sender\'s commitments');
}

/** Splits enc(65) || ciphertext as sealToPeer writes it. */
export function splitSealed(sealed: Uint8Array): { enc: Uint8Array; ciphertext: Uint8Array } {
  if (!(sealed instanceof Uint8Array) || sealed.length < N_ENC + AEAD_TAG_LENGTH) throw new ComplaintError('sealed share: too short');
  return { enc: sealed.subarray(0, N_ENC), ciphertext: sealed.subarray(N_ENC) };
}

// ---------------------------------------------------------------------------------------------
// Genesis round 2 on the ceremony engine (DESIGN §3.4 "Complaints in genesis too"). The evidence is the
// sender's own engine messages: its round-1 broadcast and the round-2 message it addressed to the
// accuser, each signed under 'ceremony-message' over (ceremony, phase, sender, recipient, SHA-256(body)),
// the round-2 body sealed with the engine's context "ceremony/<id>/round2/<sender>/<recipient>"
// (genesis/messages.ts has the bodies). The disclosed DH value opens that one ciphertext under that context.

/** One signed engine message as evidence: its body (sealed, if addressed) and the sender's signature. */
export interface SignedBody { body: Uint8Array; signature: Uint8Array }

/** A genesis complaint: the sender's signed round-1 and round-2 engine messages and the accuser's disclosure. */
export interface GenesisComplaint {
  round1: SignedBody;
  round2: SignedBody;
  disclosure: Disclosure;
}

/**
 * Judges a genesis round-2 complaint by `accuser` against `sender` (both from the roster being
 * generated) in engine ceremony `ceremony`. Evidence the sender did not sign for this ceremony, these
 * phases and this accuser makes the complaint false.
 */
export async function verifyGenesisComplaint(ceremony: string, sender: GenesisParty, accuser: GenesisParty, c: GenesisComplaint): Promise<Verdict> {
  const signed = (phase: string, recipient: string, m: SignedBody) =>
    verifyTagged(sender.identityKey, 'ceremony-message', ceremonyMessageBytes({ ceremony, phase, sender: sender.id, recipient, body: m.body }), m.signature);
  if (!signed(PHASE_ROUND1, '*', c.round1)) return falseComplaint('the round-1 evidence is not signed by the sender for this ceremony');
  if (!signed(PHASE_ROUND2, accuser.id, c.round2)) return falseComplaint('the round-2 evidence is not signed by the sender for this ceremony and accuser');
  let commitments: Uint8Array[][];
  try {
    const pkgs = decodeRound1Body(c.round1.body);
    if (SUITES.some((suite) => pkgs[suite].identifier !== sender.identifier)) return guilty('the signed round-1 package is for another identifier');
    commitments = SUITES.map((suite) => pkgs[suite].commitment);
  } catch {
    return guilty('the signed round-1 package is malformed');
  }
  let parts: { enc: Uint8Array; ciphertext: Uint8Array };
  try {
    parts = splitSealed(c.round2.body);
  } catch {
    return guilty('the signed round-2 message is too short to be sealed');
  }
  return verifyComplaint({
    recipientTransportKey: accuser.transportKey,
    recipientIdentifier: accuser.identifier,
    ...parts,
    info: peerInfo(sealContext({ ceremony, phase: PHASE_ROUND2, sender: sender.id, recipient: accuser.id })),
    disclosure: c.disclosure,
    expected: commitments.map((cs) => ({ commitments: cs })),
    parse: (pt) => {
      const o = decodeRound2Body(pt);
      const out: Uint8Array[] = [];
      for (const suite of SUITES) {
        const p = o[suite];
        if (p.sender !== sender.identifier || p.recipient !== accuser.identifier) return null;
        out.push(p.signingShare);
      }
      return out;
    },
  });
}

/** True iff two disclosures are byte-identical (a complaint store can refuse a changed repeat). */
export function sameDisclosure(a: Disclosure, b: Disclosure): boolean {
  return equalBytes(a.dhPoint, b.dhPoint) && equalBytes(a.proof, b.proof);
}
