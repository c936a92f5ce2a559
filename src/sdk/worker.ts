// Worker SDK (DESIGN §5, docs/provisioning.md): a TEE worker gets a contract key from the committee
// through one endpoint without trusting that endpoint. The attestation (a DCAP quote or an SEV-SNP
// report) binds the worker's keys and the challenge nonce (§2); each member's partial arrives
// HPKE-sealed to the worker (§3) with a DLEQ proof checked against the member's derivation verifying share from the roster certificate chain,
// so a lying member or relay can only make itself named, never change the key.
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { equalBytes, plain } from '../crypto/bytes.js';
import { combineVerifiedPartials, decodePartial, deriveContractKey, verifyPartial,
  type Partial } from '../crypto/contract-key.js';
import { hpkeOpen, N_ENC } from '../crypto/hpke.js';
import { signTagged, verifyTagged } from '../crypto/identity.js';
import { GatekeeperClient } from '../rpc/client.js';
import { assertPinnedKey, checkContractKey, fetchCommittee, type Committee, type ContractKey, type RpcCaller } from './client.js';
import { ProvisioningError, PublicationError, type BadMember } from './errors.js';
import { challengeMessage, partialInfo, publicationMessage, workerReportData as reportDataFor } from '../keys/wire.js';

export { workerReportData as reportDataFor } from '../keys/wire.js';

export interface KeyPair { secretKey: Uint8Array; publicKey: Uint8Array }

/** The worker's fresh keys: HPKE (65-byte uncompressed public key) and BIP340 signing (x-only). */
export interface WorkerKeys { hpke: KeyPair; signing: KeyPair }

/** An Intel DCAP quote (SGX v3, TDX v4/v5) and its collateral JSON. */
export interface DcapAttestation { quote: Uint8Array; collateralJson: string }

/**
 * An AMD SEV-SNP attestation report (from the guest's SNP_GET_REPORT) with what verifies it: the
 * VCEK (DER), the ASK then ARK (PEM, AMD KDS cert_chain; empty for AMD's embedded ASK) and the
 * ARK-signed CRL (DER).
 */
export interface SnpAttestation { snp: { report: Uint8Array; vcek: Uint8Array; askArkPem?: string; crl: Uint8Array } }

/**
 * Produces the TEE's evidence whose report_data (DCAP) or REPORT_DATA (SEV-SNP) is `reportData`
 * (docs/provisioning.md §2): a DCAP quote with collateral, or an SNP report with its certificates.
 */
export type QuoteMaker = (reportData: Uint8Array) => Promise<DcapAttestation | SnpAttestation>;

/** The request's evidence oneof (worker.proto) for what a QuoteMaker produced. */
export function evidenceFields(e: DcapAttestation | SnpAttestation): Record<string, unknown> {
  if (e && typeof e === 'object' && 'snp' in e && e.snp) {
    const { report, vcek, askArkPem, crl } = e.snp;
    if (!(report instanceof Uint8Array) || !(vcek instanceof Uint8Array) || !(crl instanceof Uint8Array) || (askArkPem !== undefined && typeof askArkPem !== 'string')) {
      throw new TypeError('makeQuote: snp evidence needs report, vcek and crl bytes (and askArkPem text)');
    }
    return { snp: { report, vcek, askArkPem: askArkPem ?? '', crl } };
  }
  const d = e as DcapAttestation;
  if (!(d?.quote instanceof Uint8Array) || typeof d.collateralJson !== 'string') {
    throw new TypeError('makeQuote must return { quote, collateralJson } or { snp: { report, vcek, askArkPem, crl } }');
  }
  return { dcap: { quote: d.quote, collateralJson: d.collateralJson } };
}

export interface ProvisionOptions {
  /** host:port of any member; or pass `client`. */
  endpoint?: string;
  client?: RpcCaller;
  pinnedCommitteeKey: Uint8Array;
  contractId: Uint8Array;
  /** Key version, >= 1: at most the contract's current version, and not retired (members refuse others). */
  version: number;
  keys: WorkerKeys;
  makeQuote: QuoteMaker;
  /** Deadline of the ProvisionContractKey call (the member fans out to the others), default 30 s. */
  timeoutMs?: number;
}

export interface ProvisionedKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  generation: number;
  /** Node ids (hex) whose partials were combined. */
  usedMembers: string[];
  /** Members whose partial was dropped, and why. */
  badMembers: BadMember[];
  /** What the committee said about members that refused or did not answer. */
  refusals: string[];
  committee: Committee;
}

interface ChallengeResponse { nonce?: Uint8Array; expiresAtMs?: string; issuerNodeId?: Uint8Array; signature?: Uint8Array }
interface SealedPartialMsg { nodeId?: Uint8Array; shareIdentifier?: Uint8Array; sealed?: Uint8Array }
interface ProvisionResponse { generation?: number; partials?: SealedPartialMsg[]; refusals?: string[] }

function checkKeys(keys: WorkerKeys): void {
  const { hpke, signing } = keys ?? ({} as WorkerKeys);
  if (!(hpke?.secretKey instanceof Uint8Array) || !(hpke.publicKey instanceof Uint8Array) || hpke.publicKey.length !== N_ENC
    || !equalBytes(secp256k1.getPublicKey(hpke.secretKey, false), hpke.publicKey)) {
    throw new TypeError('keys.hpke must be a secp256k1 key pair with a 65-byte uncompressed public key');
  }
  if (!(signing?.secretKey instanceof Uint8Array) || !(signing.publicKey instanceof Uint8Array) || signing.publicKey.length !== 32
    || !equalBytes(schnorr.getPublicKey(signing.secretKey), signing.publicKey)) {
    throw new TypeError('keys.signing must be a BIP340 key pair with a 32-byte x-only public key');
  }
}

function checkTarget(contractId: unknown, version: unknown): void {
  if (!(contractId instanceof Uint8Array) || contractId.length === 0 || contractId.length > 255) throw new TypeError('contract id must be 1..255 bytes');
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > 0xffffffff) {
    throw new TypeError('contract key version must be an integer in [1, 2^32)');
  }
}

async function withClient<T>(opts: { endpoint?: string; client?: RpcCaller }, f: (c: RpcCaller) => Promise<T>): Promise<T> {
  if (opts.client) return f(opts.client);
  if (typeof opts.endpoint !== 'string' || opts.endpoint.length === 0) throw new TypeError('give an endpoint (host:port) or a client');
  const c = new GatekeeperClient(opts.endpoint);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/**
 * Opens and checks one sealed partial (docs/provisioning.md §3). Returns the partial, or why it is bad:
 * not a member, a duplicate, a seal that does not open, malformed JSON, an identifier that is not the
 * member's, or a DLEQ proof that fails against the member's derivation verifying share.
 */
export async function openSealedPartial(sp: SealedPartialMsg, committee: Committee, hpke: KeyPair,
  contractId: Uint8Array, version: number): Promise<{ nodeId: string; partial?: Partial; reason?: string }> {
  const nodeIdBytes = sp.nodeId instanceof Uint8Array ? plain(sp.nodeId) : new Uint8Array();
  const nodeId = bytesToHex(nodeIdBytes);
  const member = committee.members.find((m) => equalBytes(m.nodeId, nodeIdBytes));
  if (!member) return { nodeId, reason: 'not a member of the certified committee' };
  const shareId = sp.shareIdentifier instanceof Uint8Array ? bytesToHex(sp.shareIdentifier) : '';
  if (shareId !== member.shareIdentifier) return { nodeId, reason: 'share identifier does not match the roster' };
  const sealed = sp.sealed instanceof Uint8Array ? plain(sp.sealed) : new Uint8Array();
  let plaintext: Uint8Array;
  try {
    if (sealed.length < N_ENC) throw new Error('short');
    plaintext = await hpkeOpen(hpke.secretKey, sealed.subarray(0, N_ENC), partialInfo(contractId, version, member.nodeId), sealed.subarray(N_ENC), undefined,
      { recipientPublicKey: hpke.publicKey });
  } catch {
    return { nodeId, reason: 'sealed partial does not open with the worker key for this contract and version' };
  }
  let partial: Partial;
  try {
    partial = decodePartial(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext)));
  } catch (err) {
    return { nodeId, reason: `malformed partial: ${(err as Error).message}` };
  }
  if (partial.identifier !== member.shareIdentifier) return { nodeId, reason: 'partial identifier is not the member\'s share identifier' };
  if (!verifyPartial(partial, member.derivationVerifyingShare, contractId, version)) {
    return { nodeId, reason: 'DLEQ proof does not verify against the member\'s derivation verifying share' };
  }
  return { nodeId, partial };
}

// docs/provisioning.md §1: the quote is made only over a nonce that a certified member signed, so
// an endpoint outside the committee cannot collect quotes over nonces of its choosing.
function checkChallenge(c: ChallengeResponse, nonce: Uint8Array, committee: Committee): void {
  const issuer = c.issuerNodeId instanceof Uint8Array ? plain(c.issuerNodeId) : new Uint8Array();
  const member = committee.members.find((m) => equalBytes(m.nodeId, issuer));
  if (!member) throw new ProvisioningError(`the challenge was issued by ${bytesToHex(issuer)}, not a member of the certified committee`);
  if (typeof c.expiresAtMs !== 'string' || !/^[0-9]{1,20}$/.test(c.expiresAtMs)) throw new ProvisioningError('the challenge has no expiry');
  const signature = c.signature instanceof Uint8Array ? plain(c.signature) : new Uint8Array();
  if (!verifyTagged(member.identityKey, 'challenge', challengeMessage(nonce, BigInt(c.expiresAtMs), issuer), signature)) {
    throw new ProvisioningError(`the challenge signature does not verify under member ${member.nodeIdHex}'s identity key`);
  }
}

/**
 * The whole provisioning of DESIGN §5 steps 1–3: the certified committee, a challenge signed by one
 * of its members, a quote over report_data, one ProvisionContractKey call, every sealed partial
 * opened and checked, k good ones combined and sk_c derived. Throws ProvisioningError (naming every bad member and the
 * committee's refusals) when fewer than k partials are good.
 */
export async function provisionContractKey(opts: ProvisionOptions): Promise<ProvisionedKey> {
  assertPinnedKey(opts.pinnedCommitteeKey);
  checkTarget(opts.contractId, opts.version);
  checkKeys(opts.keys);
  if (typeof opts.makeQuote !== 'function') throw new TypeError('makeQuote must be a function');
  const { contractId, version, keys } = opts;
  return withClient(opts, async (client) => {
    // The committee is fetched from the same endpoint but trusted only through the pinned CPK.
    const committee = await fetchCommittee(client, opts.pinnedCommitteeKey);
    const challenge = await client.call<ChallengeResponse>('WorkerService', 'GetChallenge', {});
    const nonce = challenge.nonce instanceof Uint8Array ? plain(challenge.nonce) : new Uint8Array();
    if (nonce.length !== 32) throw new ProvisioningError(`the challenge nonce must be 32 bytes, got ${nonce.length}`);
    checkChallenge(challenge, nonce, committee);
    const evidence = evidenceFields(await opts.makeQuote(reportDataFor(keys.hpke.publicKey, keys.signing.publicKey, nonce)));
    const res = await client.call<ProvisionResponse>('WorkerService', 'ProvisionContractKey', {
      contractId, version, ...evidence,
      workerHpkeKey: keys.hpke.publicKey, workerSigningKey: keys.signing.publicKey, nonce,
      challengeExpiresAtMs: challenge.expiresAtMs ?? '0', challengeIssuerNodeId: challenge.issuerNodeId ?? new Uint8Array(),
      challengeSignature: challenge.signature ?? new Uint8Array(),
    }, { timeoutMs: opts.timeoutMs ?? 30_000 });
    const refusals = res.refusals ?? [];
    const badMembers: BadMember[] = [];
    const good: Partial[] = [];
    const seen = new Set<string>();
    for (const sp of res.partials ?? []) {
      const r = await openSealedPartial(sp, committee, keys.hpke, contractId, version);
      if (seen.has(r.nodeId)) { badMembers.push({ nodeId: r.nodeId, reason: 'sent more than one partial' }); continue; }
      seen.add(r.nodeId);
      if (r.partial) good.push(r.partial);
      else badMembers.push({ nodeId: r.nodeId, reason: r.reason! });
    }
    const k = committee.threshold;
    const fail = () => new ProvisioningError(
      `contract ${bytesToHex(contractId)} v${version}: ${good.length} good partial${good.length === 1 ? '' : 's'} arrived, ${k} needed`
      + (badMembers.length ? `; bad members: ${badMembers.map((b) => `${b.nodeId} (${b.reason})`).join(', ')}` : '')
      + (refusals.length ? `; refusals: ${refusals.join('; ')}` : ''),
      { good: good.length, need: k, badMembers, refusals });
    if (good.length < k) throw fail();
    // Every partial in `good` passed verifyPartial in openSealedPartial, and duplicates were dropped.
    const combined = combineVerifiedPartials(good, k);
    const { secretKey, publicKey } = deriveContractKey(combined.Y, contractId, version);
    const byIdentifier = new Map(committee.members.map((m) => [m.shareIdentifier, m.nodeIdHex]));
    return {
      secretKey, publicKey, generation: res.generation ?? 0,
      usedMembers: combined.used.map((id) => byIdentifier.get(id)!), badMembers, refusals, committee,
    };
  });
}

export interface PublishOptions {
  pinnedCommitteeKey: Uint8Array;
  contractId: Uint8Array;
  version: number;
  /** pk_c, 33 bytes. */
  publicKey: Uint8Array;
  /** The signing key pair the worker was provisioned with. */
  signing: KeyPair;
}

/**
 * WorkerService.PublishContractKey (docs/provisioning.md §4): signs pk_c with the worker signing key
 * and returns the committee's certificate only after it verifies under the pinned CPK.
 */
export async function publishContractKey(client: RpcCaller, opts: PublishOptions): Promise<ContractKey> {
  assertPinnedKey(opts.pinnedCommitteeKey);
  checkTarget(opts.contractId, opts.version);
  const { contractId, version, publicKey, signing } = opts;
  if (!(signing?.secretKey instanceof Uint8Array) || !(signing.publicKey instanceof Uint8Array)) throw new TypeError('signing must be a key pair');
  const signature = signTagged(signing.secretKey, 'worker-publication', publicationMessage(contractId, version, publicKey));
  const res = await client.call<{ generation?: number; certificate?: Uint8Array }>('WorkerService', 'PublishContractKey', {
    contractId, version, publicKey, workerSigningKey: signing.publicKey, signature,
  }, { timeoutMs: 30_000 });
  try {
    return checkContractKey(opts.pinnedCommitteeKey, { contractId, version }, { contractId, version, publicKey, ...res });
  } catch (err) {
    throw new PublicationError(`the committee's certificate for the published key does not verify: ${(err as Error).message}`);
  }
}
