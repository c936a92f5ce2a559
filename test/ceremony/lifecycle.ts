// In-process committee life cycle for the hand-off tests: nodes with real identity and transport
// keys, a genesis DKG (both secrets), certified rosters, and hand-offs run through the pure phases.
import { randomBytes } from 'node:crypto';
import { hexToBytes, bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import {
  aggregateSignature, identifierForPosition, publicPackage, signShare, signingCommit,
  type KeyPackage, type PublicKeyPackage, type Suite,
} from '../../src/crypto/frost.js';
import {
  encodeRoster, hashOfCertificate, rosterCertificateMessage, GENESIS_PREVIOUS_HASH,
  type Roster, type RosterCertificate,
} from '../../src/committee/roster.js';
import {
  acknowledge, checkProposal, combine, deal, handoffSetup, newPublicPackages, propose,
  type AcknowledgeResult, type HandoffSetup,
} from '../../src/ceremony/handoff/index.js';
import { runDkg, seededRng } from '../crypto/helpers.js';

export interface Node {
  nodeId: Uint8Array;
  identitySecret: Uint8Array;
  identityKey: Uint8Array;
  transportSecret: Uint8Array;
  transportKey: Uint8Array;
  name: string;
}

export function makeNode(name: string): Node {
  const id = generateIdentityKey();
  const t = generateTransportKeyPair();
  return { nodeId: new Uint8Array(randomBytes(16)), identitySecret: id.secretKey, identityKey: id.publicKey, transportSecret: t.secretKey, transportKey: t.publicKey, name };
}

export type Keys = Record<Suite, KeyPackage>;

/** A certified committee: its roster, the chain so far and each member's keys (by node id hex). */
export interface Committee {
  roster: Roster;
  chain: RosterCertificate[];
  nodes: Node[];
  keys: Map<string, Keys>;
  publics: Record<Suite, PublicKeyPackage>;
}

const hex = bytesToHex;

export function rosterOf(epoch: number, threshold: number, nodes: Node[], publics: Record<Suite, PublicKeyPackage>, previous: Uint8Array): Roster {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
  return {
    epoch, threshold, previousCertificateHash: previous,
    masterPublicKey: publics.derivation.groupPublicKey, committeeKey: publics.signing.groupPublicKey,
    members: sorted.map((n, i) => {
      const id = identifierForPosition(i);
      return {
        nodeId: n.nodeId, identityKey: n.identityKey, transportKey: n.transportKey, endpoint: `127.0.0.1:${7000 + i}`, stake: 100n,
        shareIdentifier: hexToBytes(id), derivationVerifyingShare: publics.derivation.verifyingShares[id]!, signingVerifyingShare: publics.signing.verifyingShares[id]!,
      };
    }),
  };
}

/** A BIP340 signature by the first k of `signers` with FROST (frost.ts helpers). */
export function frostSign(signers: KeyPackage[], message: Uint8Array): Uint8Array {
  const k = signers[0]!.threshold;
  const chosen = signers.slice(0, k);
  const rounds = chosen.map((key) => signingCommit(key));
  const commitments = rounds.map((r) => r.commitments);
  const shares = chosen.map((key, i) => signShare(key, rounds[i]!.nonces, commitments, message));
  return aggregateSignature(publicPackage(chosen[0]!), commitments, message, shares);
}

export function certify(roster: Roster, signers: KeyPackage[]): RosterCertificate {
  const rosterBytes = encodeRoster(roster);
  return { epoch: roster.epoch, rosterBytes, signature: frostSign(signers, rosterCertificateMessage(roster.epoch, rosterBytes)) };
}

export function genesis(nodes: Node[], threshold: number, seed = 'genesis'): Committee {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
  const ids = sorted.map((_, i) => identifierForPosition(i));
  const rng = seededRng(seed);
  const dkg = { derivation: runDkg('derivation', ids, threshold, rng), signing: runDkg('signing', ids, threshold, rng) };
  const keys = new Map<string, Keys>(sorted.map((n, i) => [hex(n.nodeId), { derivation: dkg.derivation[i]!, signing: dkg.signing[i]! }]));
  const publics = { derivation: publicPackage(dkg.derivation[0]!), signing: publicPackage(dkg.signing[0]!) };
  const roster = rosterOf(1, threshold, sorted, publics, GENESIS_PREVIOUS_HASH);
  return { roster, chain: [certify(roster, dkg.signing)], nodes: sorted, keys, publics };
}

export const session = (epoch: number) => new Uint8Array(randomBytes(32)).fill(epoch, 0, 1);

/** Hooks a test uses to misbehave from outside the protocol code. */
export interface HandoffHooks {
  /** Replaces an honest dealer's encoded dealing (a malicious dealer). */
  dealing?: (dealer: Node, encoded: Uint8Array, setup: HandoffSetup) => Promise<Uint8Array> | Uint8Array;
}

export interface HandoffRun {
  setup: HandoffSetup;
  dealings: Uint8Array[];
  acks: Map<string, AcknowledgeResult>;
  proposal: Uint8Array;
  next: Committee;
}

/** Runs a full hand-off from `from` to `nextNodes` with threshold `kNew` through the pure phases. */
export async function handOff(from: Committee, nextNodes: Node[], kNew: number, hooks: HandoffHooks = {}): Promise<HandoffRun> {
  const epoch = from.roster.epoch + 1;
  const setup = handoffSetup(from.roster, epoch, session(epoch), { threshold: kNew, members: nextNodes });
  const dealings: Uint8Array[] = [];
  for (const n of from.nodes) {
    const { encoded } = await deal(setup, { nodeId: n.nodeId, identitySecret: n.identitySecret, shares: from.keys.get(hex(n.nodeId))! });
    dealings.push(hooks.dealing ? await hooks.dealing(n, encoded, setup) : encoded);
  }
  const sortedNext = setup.next.members.map((m) => nextNodes.find((n) => hex(n.nodeId) === hex(m.nodeId))!);
  const acks = new Map<string, AcknowledgeResult>();
  for (const n of sortedNext) acks.set(hex(n.nodeId), await acknowledge(setup, n, dealings));
  const coordinator = sortedNext[0]!;
  const { encoded: proposal } = propose(setup, coordinator, [...acks.values()].map((a) => a.encoded));
  const keys = new Map<string, Keys>();
  for (const n of sortedNext) {
    const p = checkProposal(setup, proposal, { coordinator: coordinator.nodeId, ownAcknowledgement: acks.get(hex(n.nodeId))!.encoded });
    keys.set(hex(n.nodeId), combine(setup, n, p.qualified, dealings, acks.get(hex(n.nodeId))!.subShares));
  }
  const q = checkProposal(setup, proposal).qualified;
  const publics = newPublicPackages(setup, q, dealings);
  const roster = rosterOf(epoch, kNew, sortedNext, publics, hashOfCertificate(from.chain[from.chain.length - 1]!));
  // Activation (DESIGN §3.5): the OUTGOING committee signs, with its old shares, under the unchanged CPK.
  const cert = certify(roster, from.nodes.map((n) => from.keys.get(hex(n.nodeId))!.signing));
  return { setup, dealings, acks, proposal, next: { roster, chain: [...from.chain, cert], nodes: sortedNext, keys, publics } };
}
