// Client SDK (DESIGN §5 step 5, §8; docs/provisioning.md §5): the committee as its roster certificate
// chain proves it, contract keys whose certificate verifies under the pinned committee key (CPK), and
// invocation envelopes to them. The pinned CPK is the only trust anchor: whatever the endpoint says
// is checked against it, so any member, or a proxy, may answer.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { equalBytes, plain } from '../crypto/bytes.js';
import { sealInvocation } from '../crypto/envelope.js';
import { verifyGroupSignature } from '../crypto/frost.js';
import { chainLinkFault, decodeRoster, rosterCertificateMessage, type Roster, type RosterCertificate } from '../committee/roster.js';
import type { CallOptions } from '../rpc/client.js';
import type { ServiceName } from '../rpc/proto.js';
import { CommitteeMismatchError, CommitteeVerificationError, ContractKeyCertificateError, ContractKeyVersionError } from './errors.js';
import { contractKeyCertificateMessage } from '../keys/wire.js';

/** What the SDK needs of a client: GatekeeperClient fits, and so does a test double. */
export interface RpcCaller {
  call<Res = Record<string, unknown>>(service: ServiceName, method: string, request?: Record<string, unknown>, opts?: CallOptions): Promise<Res>;
}

export interface CommitteeMember {
  nodeId: Uint8Array;
  /** nodeId as lowercase hex, as errors and logs name members. */
  nodeIdHex: string;
  endpoint: string;
  identityKey: Uint8Array;
  transportKey: Uint8Array;
  stake: bigint;
  /** FROST identifier as src/crypto/frost.ts spells it (64 lowercase hex). */
  shareIdentifier: string;
  derivationVerifyingShare: Uint8Array;
  signingVerifyingShare: Uint8Array;
}

export interface Committee {
  epoch: number;
  threshold: number;
  committeeKey: Uint8Array;
  masterPublicKey: Uint8Array;
  members: CommitteeMember[];
  /** The newest certified roster. */
  roster: Roster;
}

export interface ContractKey {
  contractId: Uint8Array;
  version: number;
  generation: number;
  /** pk_c, 33-byte SEC1 compressed. */
  publicKey: Uint8Array;
  /** 64-byte BIP340 signature under CPK (DESIGN §8). */
  certificate: Uint8Array;
}

export function assertPinnedKey(key: unknown): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('pinned committee key must be 32 bytes (x-only BIP340)');
  return key;
}

function bytesField(x: unknown): Uint8Array {
  return x instanceof Uint8Array ? plain(x) : new Uint8Array();
}


interface RawCertificate { epoch?: number; rosterBytes?: Uint8Array; signature?: Uint8Array }
interface RawMember {
  nodeId?: Uint8Array; endpoint?: string; identityKey?: Uint8Array; transportKey?: Uint8Array; stake?: string;
  shareIdentifier?: Uint8Array; derivationVerifyingShare?: Uint8Array; signingVerifyingShare?: Uint8Array;
}
export interface GetCommitteeResponse {
  epoch?: number; threshold?: number; committeeKey?: Uint8Array; masterPublicKey?: Uint8Array;
  members?: RawMember[]; certificates?: RawCertificate[];
}

/**
 * Verifies the roster certificate chain (genesis first) under the pinned CPK: the genesis roster
 * (previous hash zero) is signed by its own key, each later roster by the previous roster's committee
 * key and linked to it by certificateHash, and every roster names the pinned CPK, so a link signed
 * by anything else, or out of order, or not naming its predecessor, is refused. Returns the newest roster.
 */
export function verifyRosterChain(certificates: RawCertificate[], pinnedCommitteeKey: Uint8Array): Roster {
  assertPinnedKey(pinnedCommitteeKey);
  if (!Array.isArray(certificates) || certificates.length === 0) throw new CommitteeVerificationError('the response carries no roster certificate');
  let prev: { roster: Roster; certificate: RosterCertificate } | undefined;
  for (const [i, c] of certificates.entries()) {
    const epoch = c.epoch ?? 0;
    const rosterBytes = bytesField(c.rosterBytes);
    const signature = bytesField(c.signature);
    let roster: Roster;
    try {
      roster = decodeRoster(rosterBytes);
    } catch (err) {
      throw new CommitteeVerificationError(`roster certificate ${i} (epoch ${epoch}): ${(err as Error).message}`);
    }
    if (roster.epoch !== epoch) throw new CommitteeVerificationError(`roster certificate ${i} says epoch ${epoch} but its roster is epoch ${roster.epoch}`);
    if (!equalBytes(roster.committeeKey, pinnedCommitteeKey)) {
      throw new CommitteeVerificationError(`the epoch ${epoch} roster names committee key ${bytesToHex(roster.committeeKey)}, not the pinned ${bytesToHex(pinnedCommitteeKey)}`);
    }
    const signer = prev ? prev.roster.committeeKey : pinnedCommitteeKey;
    if (!verifyGroupSignature(signer, rosterCertificateMessage(epoch, rosterBytes), signature)) {
      throw new CommitteeVerificationError(`the epoch ${epoch} roster certificate is not signed by ${prev ? `the epoch ${prev.roster.epoch} committee key` : 'the pinned committee key'}`);
    }
    const fault = chainLinkFault(prev, roster);
    if (fault) throw new CommitteeVerificationError(fault);
    prev = { roster, certificate: { epoch, rosterBytes, signature } };
  }
  return prev!.roster;
}

function memberOf(m: Roster['members'][number]): CommitteeMember {
  return {
    nodeId: m.nodeId, nodeIdHex: bytesToHex(m.nodeId), endpoint: m.endpoint, identityKey: m.identityKey,
    transportKey: m.transportKey, stake: m.stake, shareIdentifier: bytesToHex(m.shareIdentifier),
    derivationVerifyingShare: m.derivationVerifyingShare, signingVerifyingShare: m.signingVerifyingShare,
  };
}

/** Checks a GetCommittee response against the pinned CPK; refuses fields that disagree with the certified roster. */
export function verifyCommitteeResponse(res: GetCommitteeResponse, pinnedCommitteeKey: Uint8Array): Committee {
  const roster = verifyRosterChain(res.certificates ?? [], pinnedCommitteeKey);
  const differs = (what: string) => new CommitteeMismatchError(`the response's ${what} disagrees with the certified epoch ${roster.epoch} roster`);
  if (res.epoch !== roster.epoch) throw differs('epoch');
  if (res.threshold !== roster.threshold) throw differs('threshold');
  if (!equalBytes(bytesField(res.committeeKey), roster.committeeKey)) throw differs('committee key');
  if (!equalBytes(bytesField(res.masterPublicKey), roster.masterPublicKey)) throw differs('master public key');
  const members = res.members ?? [];
  if (members.length !== roster.members.length) throw differs('member count');
  roster.members.forEach((m, i) => {
    const r = members[i]!;
    const same = equalBytes(bytesField(r.nodeId), m.nodeId) && r.endpoint === m.endpoint
      && equalBytes(bytesField(r.identityKey), m.identityKey) && equalBytes(bytesField(r.transportKey), m.transportKey)
      && r.stake === m.stake.toString() && equalBytes(bytesField(r.shareIdentifier), m.shareIdentifier)
      && equalBytes(bytesField(r.derivationVerifyingShare), m.derivationVerifyingShare)
      && equalBytes(bytesField(r.signingVerifyingShare), m.signingVerifyingShare);
    if (!same) throw differs(`member ${i} (${bytesToHex(m.nodeId)})`);
  });
  return {
    epoch: roster.epoch, threshold: roster.threshold, committeeKey: roster.committeeKey,
    masterPublicKey: roster.masterPublicKey, members: roster.members.map(memberOf), roster,
  };
}

/** PublicService.GetCommittee, verified against the pinned CPK. */
export async function fetchCommittee(client: RpcCaller, pinnedCommitteeKey: Uint8Array): Promise<Committee> {
  assertPinnedKey(pinnedCommitteeKey);
  const res = await client.call<GetCommitteeResponse>('PublicService', 'GetCommittee', {});
  return verifyCommitteeResponse(res, pinnedCommitteeKey);
}

/** True iff `certificate` is the CPK's BIP340 signature over the DESIGN §8 contract key message. */
export function verifyContractKeyCertificate(pinnedCommitteeKey: Uint8Array, key: Omit<ContractKey, 'certificate'> & { certificate: Uint8Array }): boolean {
  try {
    return verifyGroupSignature(assertPinnedKey(pinnedCommitteeKey), contractKeyCertificateMessage(key.contractId, key.version, key.generation, key.publicKey), key.certificate);
  } catch {
    return false;
  }
}

function checkContractId(contractId: unknown): Uint8Array {
  if (!(contractId instanceof Uint8Array) || contractId.length === 0 || contractId.length > 255) {
    throw new TypeError('contract id must be 1..255 bytes');
  }
  return contractId;
}

function checkVersion(version: unknown, min: number): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < min || version > 0xffffffff) {
    throw new TypeError(`contract key version must be an integer in [${min}, 2^32)`);
  }
  return version;
}

/** Checks a contract key answer (GetContractKey or PublishContractKey) and its certificate. */
export function checkContractKey(pinnedCommitteeKey: Uint8Array, expect: { contractId: Uint8Array; version: number },
  res: { contractId?: Uint8Array; version?: number; generation?: number; publicKey?: Uint8Array; certificate?: Uint8Array }): ContractKey {
  const contractId = bytesField(res.contractId);
  const version = res.version ?? 0;
  const generation = res.generation ?? 0;
  const publicKey = bytesField(res.publicKey);
  const certificate = bytesField(res.certificate);
  const what = `contract ${bytesToHex(expect.contractId)} ${expect.version ? `v${expect.version}` : '(current version)'}`;
  if (!equalBytes(contractId, expect.contractId)) throw new ContractKeyCertificateError(`${what}: the answer is for another contract id (${bytesToHex(contractId)})`);
  if (expect.version !== 0 && version !== expect.version) throw new ContractKeyCertificateError(`${what}: the answer is for version ${version}`);
  if (version < 1) throw new ContractKeyCertificateError(`${what}: the answer has no key version`);
  if (publicKey.length !== 33) throw new ContractKeyCertificateError(`${what}: public key must be 33 bytes, got ${publicKey.length}`);
  try {
    secp256k1.Point.fromBytes(publicKey).assertValidity();
  } catch {
    throw new ContractKeyCertificateError(`${what}: public key is not a secp256k1 point`);
  }
  if (certificate.length !== 64) throw new ContractKeyCertificateError(`${what}: certificate must be 64 bytes, got ${certificate.length}`);
  const key = { contractId, version, generation, publicKey, certificate };
  if (!verifyContractKeyCertificate(pinnedCommitteeKey, key)) {
    throw new ContractKeyCertificateError(`${what}: the certificate (generation ${generation}) is not signed by the pinned committee key ${bytesToHex(pinnedCommitteeKey)}`);
  }
  return key;
}

/**
 * Which key version a client accepts: `version` pins one (0 or absent: the contract's current
 * certified version), `minVersion` refuses an answer older than it (a stale or rolled-back member).
 */
export interface KeyVersionOptions { version?: number; minVersion?: number }

/**
 * PublicService.GetContractKey; the key is returned only if its certificate verifies under the pinned
 * CPK and its version is the pinned one (or at least `minVersion`). A number is `{ version }`.
 */
export async function getContractKey(client: RpcCaller, pinnedCommitteeKey: Uint8Array, contractId: Uint8Array,
  which: number | KeyVersionOptions = 0): Promise<ContractKey> {
  assertPinnedKey(pinnedCommitteeKey);
  checkContractId(contractId);
  const opts = typeof which === 'number' ? { version: which } : (which ?? {});
  const version = checkVersion(opts.version ?? 0, 0);
  const minVersion = checkVersion(opts.minVersion ?? 0, 0);
  if (version !== 0 && minVersion !== 0) throw new TypeError('give either version or minVersion, not both');
  const res = await client.call<Parameters<typeof checkContractKey>[2]>('PublicService', 'GetContractKey', { contractId, version });
  const key = checkContractKey(pinnedCommitteeKey, { contractId, version }, res);
  if (key.version < minVersion) {
    throw new ContractKeyVersionError(`contract ${bytesToHex(contractId)}: the committee answered version ${key.version}, below the minimum ${minVersion}`);
  }
  return key;
}

/** Fetches and verifies the contract key, then seals `plaintext` to it as an invocation envelope v1. */
export async function encryptForContract(client: RpcCaller, pinnedCommitteeKey: Uint8Array, contractId: Uint8Array,
  plaintext: Uint8Array, opts: KeyVersionOptions & { aad?: Uint8Array } = {}): Promise<{ envelope: Uint8Array; key: ContractKey }> {
  const key = await getContractKey(client, pinnedCommitteeKey, contractId, { version: opts.version, minVersion: opts.minVersion });
  return { envelope: await sealInvocation(key.publicKey, key.contractId, key.version, plaintext, opts.aad), key };
}
