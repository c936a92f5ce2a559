// Genesis on the ceremony engine (DESIGN §3.2–3.4): the phase names, the bodies of its messages and the
// roster every member computes from its DKG output. The engine signs every message (tag
// "ceremony-message") and seals the addressed ones, so a body here is plain JSON:
//   round1 (broadcast)  {"derivation": DkgRound1, "signing": DkgRound1}   (frost.ts encodings)
//   round2 (addressed)  {"derivation": DkgRound2, "signing": DkgRound2}   (sealed to the recipient)
//   outcome (broadcast) a confirmation or a complaint (outcome.ts)
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { utf8 } from '../../crypto/bytes.js';
import {
  decodeDkgRound1, decodeDkgRound2, encodeDkgRound1, encodeDkgRound2, type DkgRound1Package, type DkgRound2Package,
  type Identifier, type PublicKeyPackage, type Suite,
} from '../../crypto/frost.js';
import type { Roster } from '../../committee/roster.js';
import type { RosterEntryJson } from '../../store/ceremony-store.js';

export const GENESIS_KIND = 'genesis';
export const PHASE_ROUND1 = 'round1';
export const PHASE_ROUND2 = 'round2';
export const PHASE_OUTCOME = 'outcome';
export const SUITES: Suite[] = ['derivation', 'signing'];

/** The engine ceremony of a genesis epoch. */
export const genesisCeremonyId = (epoch: number) => `genesis-${epoch}`;

/** A member of the genesis roster as the rounds and the complaint check need it; `id` is the engine's member id (identity key hex). */
export interface GenesisParty {
  id: string;
  nodeId: Uint8Array;
  identityKey: Uint8Array;
  transportKey: Uint8Array;
  identifier: Identifier;
}

export function partyOf(m: RosterEntryJson): GenesisParty {
  return { id: m.identityKey, nodeId: hexToBytes(m.nodeId), identityKey: hexToBytes(m.identityKey), transportKey: hexToBytes(m.transportKey), identifier: m.shareIdentifier };
}

const dec = new TextDecoder();
const parseObject = (b: Uint8Array): Record<string, unknown> => {
  const o = JSON.parse(dec.decode(b)) as unknown;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('not a JSON object');
  return o as Record<string, unknown>;
};

export function encodeRound1Body(p: Record<Suite, DkgRound1Package>): Uint8Array {
  return utf8(JSON.stringify({ derivation: encodeDkgRound1(p.derivation), signing: encodeDkgRound1(p.signing) }));
}

/** Both suites' round-1 packages; throws on anything malformed. */
export function decodeRound1Body(b: Uint8Array): Record<Suite, DkgRound1Package> {
  const o = parseObject(b);
  return { derivation: decodeDkgRound1(o.derivation), signing: decodeDkgRound1(o.signing) };
}

export function encodeRound2Body(p: Record<Suite, DkgRound2Package>): Uint8Array {
  return utf8(JSON.stringify({ derivation: encodeDkgRound2(p.derivation), signing: encodeDkgRound2(p.signing) }));
}

/** Both suites' round-2 shares (secret); throws on anything malformed. */
export function decodeRound2Body(b: Uint8Array): Record<Suite, DkgRound2Package> {
  const o = parseObject(b);
  return { derivation: decodeDkgRound2(o.derivation), signing: decodeDkgRound2(o.signing) };
}

/** The roster a member computes from the elected members and the committee's public key packages. */
export function genesisRoster(epoch: number, threshold: number, entries: RosterEntryJson[], pub: Record<Suite, PublicKeyPackage>): Roster {
  return {
    epoch, threshold,
    masterPublicKey: pub.derivation.groupPublicKey, committeeKey: pub.signing.groupPublicKey,
    previousCertificateHash: new Uint8Array(32),
    members: entries.map((m) => ({
      nodeId: hexToBytes(m.nodeId), identityKey: hexToBytes(m.identityKey), transportKey: hexToBytes(m.transportKey),
      endpoint: m.endpoint, stake: BigInt(m.stake), shareIdentifier: hexToBytes(m.shareIdentifier),
      derivationVerifyingShare: pub.derivation.verifyingShares[m.shareIdentifier]!,
      signingVerifyingShare: pub.signing.verifyingShares[m.shareIdentifier]!,
    })),
  };
}

export const hex = bytesToHex;
