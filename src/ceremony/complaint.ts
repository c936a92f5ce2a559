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
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, lp, u32be, utf8 } from '../crypto/bytes.js';
import { hpkeOpenWithDisclosedDh, N_ENC, AEAD_TAG_LENGTH, peerInfo } from '../crypto/hpke.js';
import { verifyTagged } from '../crypto/identity.js';
import {
  assertIdentifier, decodeDkgRound1, decodeDkgRound2, decodePoint, decodeScalar, identifierScalar,
  type Identifier, type Rng, type Suite,
} from '../crypto/frost.js';
import { evaluateVss } from '../crypto/vss.js';

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
// Genesis round 2 (DESIGN §3.4 "Complaints in genesis too"). The signed messages are those the
// genesis ceremony sends today (src/node/genesis.ts): round 1 signs u32be(epoch) || lp(derivation
// JSON) || lp(signing JSON) under 'dkg-round1'; round 2 signs u32be(epoch) || sender || recipient ||
// sealed under 'dkg-round2', sealed = sealToPeer(pk_R, "dkg-round2/<epoch>/<sender hex>/<recipient
// hex>", JSON {derivation, signing}). The builders are exported so genesis and this module agree.

/** What genesis round-1 signatures cover. */
export function genesisRound1Message(epoch: number, derivation: Uint8Array, signing: Uint8Array): Uint8Array {
  return concatBytes(u32be(epoch), lp(derivation), lp(signing));
}
/** What genesis round-2 signatures cover. */
export function genesisRound2Message(epoch: number, sender: Uint8Array, recipient: Uint8Array, sealed: Uint8Array): Uint8Array {
  return concatBytes(u32be(epoch), sender, recipient, sealed);
}
/** The HPKE context string of a genesis round-2 share (info = "gatekeeper/v1/peer/" || it). */
export function genesisRound2Context(epoch: number, sender: Uint8Array, recipient: Uint8Array): string {
  return `dkg-round2/${epoch}/${bytesToHex(sender)}/${bytesToHex(recipient)}`;
}

/** A member of the genesis roster as a complaint needs it. */
export interface GenesisParty {
  nodeId: Uint8Array;
  identityKey: Uint8Array;
  transportKey: Uint8Array;
  identifier: Identifier;
}

/** A genesis complaint: the sender's signed round-1 and round-2 messages and the accuser's disclosure. */
export interface GenesisComplaint {
  epoch: number;
  round1: { derivation: Uint8Array; signing: Uint8Array; signature: Uint8Array };
  round2: { sealed: Uint8Array; signature: Uint8Array };
  disclosure: Disclosure;
}

/**
 * Judges a genesis round-2 complaint by `accuser` against `sender` (both from the roster being
 * generated). Evidence the sender did not sign makes the complaint false.
 */
export async function verifyGenesisComplaint(epoch: number, sender: GenesisParty, accuser: GenesisParty, c: GenesisComplaint): Promise<Verdict> {
  if (c.epoch !== epoch) return falseComplaint('the complaint is for another epoch');
  if (!verifyTagged(sender.identityKey, 'dkg-round1', genesisRound1Message(epoch, c.round1.derivation, c.round1.signing), c.round1.signature))
    return falseComplaint('the round-1 evidence is not signed by the sender');
  if (!verifyTagged(sender.identityKey, 'dkg-round2', genesisRound2Message(epoch, sender.nodeId, accuser.nodeId, c.round2.sealed), c.round2.signature))
    return falseComplaint('the round-2 evidence is not signed by the sender');
  const dec = new TextDecoder();
  const commitments: Uint8Array[][] = [];
  for (const raw of [c.round1.derivation, c.round1.signing]) {
    try {
      const pkg = decodeDkgRound1(JSON.parse(dec.decode(raw)));
      if (pkg.identifier !== sender.identifier) return guilty('the signed round-1 package is for another identifier');
      commitments.push(pkg.commitment);
    } catch {
      return guilty('the signed round-1 package is malformed');
    }
  }
  let parts: { enc: Uint8Array; ciphertext: Uint8Array };
  try {
    parts = splitSealed(c.round2.sealed);
  } catch {
    return guilty('the signed round-2 message is too short to be sealed');
  }
  return verifyComplaint({
    recipientTransportKey: accuser.transportKey,
    recipientIdentifier: accuser.identifier,
    ...parts,
    info: peerInfo(genesisRound2Context(epoch, sender.nodeId, accuser.nodeId)),
    disclosure: c.disclosure,
    expected: commitments.map((cs) => ({ commitments: cs })),
    parse: (pt) => {
      const o = JSON.parse(dec.decode(pt)) as { derivation: unknown; signing: unknown };
      const out: Uint8Array[] = [];
      for (const suite of ['derivation', 'signing'] as Suite[]) {
        const p = decodeDkgRound2(o[suite]);
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
