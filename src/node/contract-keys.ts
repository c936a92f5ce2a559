// Contract keys on a member (DESIGN §4, §5): challenges, attested release of this member's partial
// evaluation, the fan-out that lets a worker use one endpoint, publication of pk_c with a FROST
// certificate, and the public key service. Every member checks the worker's evidence (a DCAP quote or
// an SEV-SNP report: ./worker-evidence.ts), policy, nonce and report_data itself before it evaluates
// anything with its share; cheap checks (shape, version, challenge, report_data binding, revocation)
// come before any signature, certificate or collateral verification, and the receiving member fans
// out only after its own checks pass. Versions: ./contract-versions.ts.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { status } from '@grpc/grpc-js';
import promClient from 'prom-client';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, utf8 } from '../crypto/bytes.js';
import { signTagged, verifyTagged } from '../crypto/identity.js';
import { hpkeSeal } from '../crypto/hpke.js';
import { encodePartial, evaluatePartial } from '../crypto/contract-key.js';
import { verifyGroupSignature } from '../crypto/frost.js';
import { SnpVerificationCache, VerificationCache, INTEL_SGX_ROOT_CA_DER, type SnpProduct } from '../attestation/index.js';
import {
  challengeMessage, contractKeyCertificateMessage, fingerprint, partialInfo, provisionReceiptMessage, publicationMessage, workerReportData,
} from '../keys/wire.js';
import { attestationPolicyFor, parseReleasePolicy, verifyPolicySignatures, ReleasePolicyError, type ReleasePolicy } from '../keys/release-policy.js';
import { ContractStore, type ContractKeyRow, type ContractState } from '../store/contract-store.js';
import { checkIssuableVersion, ContractVersions, frozenError, parseAlarm } from './contract-versions.js';
import { checkEvidenceShape, claimedReportData, verifyEvidence, type EvidenceWire, type VerifiedEvidence, type WorkerEvidence } from './worker-evidence.js';
import { snpArks } from './config.js';
import type { CeremonyRecord } from '../store/ceremony-store.js';
import {
  alreadyExists, expectBytes, failedPrecondition, invalidArgument, notFound, permissionDenied, RpcError, unavailable,
} from '../rpc/errors.js';
import type { NodeContext } from './context.js';
import { gatherQuorum } from './quorum.js';
import { exponentialBackoffMs } from '../rpc/backoff.js';

/** Provisioning without a caller deadline: each member call may take this long (ms). */
export const DEFAULT_PROVISION_BUDGET_MS = 10_000;
/** Kept from the caller's budget to answer it in time (ms). */
const ANSWER_MARGIN_MS = 500;
/** No member call gets less (ms), whatever the budget. */
const MIN_PEER_CALL_MS = 200;
/** How long publish() waits for the first delivery of a certified key to the members before leaving the rest to the outbox (ms). */
const PUSH_WAIT_MS = 1000;
/** Outbox retry backoff: doubles per failed attempt from 1 s up to this (ms). */
const OUTBOX_MAX_BACKOFF_MS = 10_000;
/** A member asks its peers for certified keys it lacks at start and then this often (ms). */
const SYNC_EVERY_MS = 30_000;
/** A miss in GetContractKey asks the peers again at most this often per contract (ms). */
const MISS_SYNC_EVERY_MS = 5_000;

export interface ProvisionRequest extends EvidenceWire {
  contractId: Uint8Array; version: number; workerHpkeKey: Uint8Array;
  workerSigningKey: Uint8Array; nonce: Uint8Array; challengeExpiresAtMs: string; challengeIssuerNodeId: Uint8Array;
  challengeSignature: Uint8Array;
}

export interface ProvisionReceipt { nodeId: Uint8Array; signature: Uint8Array }

export interface PublishRequest {
  contractId: Uint8Array; version: number; publicKey: Uint8Array; workerSigningKey: Uint8Array; signature: Uint8Array;
  /** Filled by the coordinating member: receipts of the members that provisioned this worker. */
  provisionedBy?: ProvisionReceipt[];
}

export interface SealedPartialWire { nodeId: Uint8Array; shareIdentifier: Uint8Array; sealed: Uint8Array }

/** One side of a key conflict (peer.proto ConflictingKey): a worker-signed publication or a certificate. */
export interface ConflictingKey { publicKey: Uint8Array; workerSigningKey: Uint8Array; signature: Uint8Array; generation: number; certificate: Uint8Array }
export interface ContractAlarmWire { contractId: Uint8Array; version: number; first: ConflictingKey | null; second: ConflictingKey | null }

/** What a member's own checks established, before it releases its partial. */
interface CheckedRelease { req: ProvisionRequest; c: CeremonyRecord; verified: VerifiedEvidence }

function counter(registry: promClient.Registry, name: string, help: string, labelNames: string[] = []): promClient.Counter {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as promClient.Counter;
  return new promClient.Counter({ name, help, labelNames, registers: [registry] });
}

function checkContractId(id: unknown): Uint8Array {
  if (!(id instanceof Uint8Array) || id.length === 0 || id.length > 255) throw invalidArgument('contract_id must be 1 to 255 bytes');
  return new Uint8Array(id);
}

function checkVersion(v: unknown, allowCurrent: boolean): number {
  if (!Number.isInteger(v) || (v as number) < (allowCurrent ? 0 : 1) || (v as number) > 0xffffffff) {
    throw invalidArgument(`version must be ${allowCurrent ? '0 (the current version) or more' : 'at least 1'}`);
  }
  return v as number;
}

/** A revocation reason is stored and audited as given, so it is bounded (the audit detail is lp-encoded). */
export const MAX_REVOCATION_REASON_BYTES = 500;

export class ContractKeys {
  readonly store: ContractStore;
  private readonly cache = new VerificationCache();
  private readonly snpCache = new SnpVerificationCache();
  private readonly trustedRoot: Uint8Array;
  /** The SEV-SNP ARKs from the config (checked at node start); undefined: AMD's pinned ARKs. */
  private readonly snpArks: Partial<Record<SnpProduct, Uint8Array>> | undefined;
  private readonly certified = new Map<string, ContractKeyRow & { currentVersion: number }>();
  /** Parsed policies by id, kept with the serial they were parsed at (a newer serial replaces them). */
  private readonly policies = new Map<string, ReleasePolicy>();
  readonly versions: ContractVersions;
  /** The broadcast of an alarm raised by the last checkPublication, for publish() to await. */
  private pendingAlarm: Promise<void> | undefined;
  /** Full verifications (DCAP quotes, SNP reports: signatures, chains, collateral) this member ran, by result and evidence kind. */
  private readonly verifications: promClient.Counter;
  /** ProvisionContractKey requests this member fanned out to the other members. */
  private readonly fanOuts: promClient.Counter;

  constructor(private readonly ctx: NodeContext) {
    this.store = new ContractStore(ctx.db);
    const rootFile = ctx.config.attestation.trustedRootFile;
    this.trustedRoot = rootFile ? new Uint8Array(fs.readFileSync(rootFile)) : INTEL_SGX_ROOT_CA_DER;
    this.snpArks = snpArks(ctx.config).trusted;
    this.versions = new ContractVersions(ctx, this.store, () => this.certified.clear());
    this.verifications = counter(ctx.metrics.registry, 'gatekeeper_quote_verifications_total', 'full attestation verifications (DCAP quotes and SEV-SNP reports: signatures, chains, CRLs, collateral) run for provisioning', ['result', 'tee']);
    this.fanOuts = counter(ctx.metrics.registry, 'gatekeeper_provision_fanouts_total', 'provisioning requests fanned out to the other members');
    ctx.genesis.registerSigningPurpose('contract-key', (c, message, publication) => this.checkPublicationToSign(c, message, publication));
  }

  /** The registered contract, refused while it is frozen by an alarm. */
  private liveContract(contractId: Uint8Array): ContractState {
    const contract = this.store.contract(contractId);
    if (!contract) throw notFound('that contract is not registered');
    const alarm = parseAlarm(contract.alarm);
    if (alarm) throw frozenError(alarm);
    return contract;
  }

  private committee(): CeremonyRecord {
    const c = this.ctx.genesis.activeCommittee();
    if (!c) throw failedPrecondition('this node is not a member of an active committee');
    return c;
  }

  private get me(): string { return bytesToHex(this.ctx.self.nodeId); }

  /** The installed release policy `id`, parsed once per serial; undefined when none is installed. */
  private installedPolicy(id: string): ReleasePolicy | undefined {
    const stored = this.store.policy(id);
    if (!stored) return undefined;
    const hit = this.policies.get(id);
    if (hit && hit.serial === stored.serial) return hit;
    let policy: ReleasePolicy;
    try {
      policy = parseReleasePolicy(stored.policyJson);
    } catch (err) {
      // A policy stored under older, looser rules: refuse every release under it until governance
      // installs a corrected one (fail closed), and say so instead of INTERNAL.
      if (!(err instanceof ReleasePolicyError)) throw err;
      throw failedPrecondition(`the installed release policy '${id}' (serial ${stored.serial}) no longer passes the policy rules `
        + `(${err.message.slice(0, 200)}); install a corrected policy with a higher serial`);
    }
    this.policies.set(id, policy);
    return policy;
  }

  // ---- operator actions ----

  setPolicy(policyJson: Uint8Array, signatures: { key: Uint8Array; signature: Uint8Array }[], actor: string): ReleasePolicy {
    const { governance } = this.ctx.config;
    let policy: ReleasePolicy;
    try {
      verifyPolicySignatures(policyJson, signatures, governance.keys, governance.threshold);
      policy = parseReleasePolicy(policyJson);
    } catch (err) {
      if (err instanceof ReleasePolicyError) throw err.kind === 'unauthorized' ? permissionDenied(err.message) : invalidArgument(err.message);
      throw err;
    }
    const existing = this.store.policy(policy.id);
    if (existing && existing.serial >= policy.serial) {
      if (existing.serial === policy.serial && equalBytes(existing.policyJson, policyJson)) return policy;
      throw failedPrecondition(`policy '${policy.id}' is at serial ${existing.serial}; a replacement needs a higher serial`);
    }
    const sigs = JSON.stringify(signatures.map((s) => ({ key: bytesToHex(s.key), signature: bytesToHex(s.signature) })));
    this.ctx.db.transaction(() => {
      this.store.putPolicy(policy.id, policy.serial, policyJson, sigs, this.ctx.now());
      this.ctx.audit.append(actor, 'policy.set', { id: policy.id, serial: policy.serial, namespaces: Object.keys(policy.namespaces) });
    })();
    return policy;
  }

  registerContract(contractIdRaw: unknown, namespace: string, policyId: string, actor: string): void {
    const contractId = checkContractId(contractIdRaw);
    const policy = this.installedPolicy(policyId);
    if (!policy) throw failedPrecondition(`no release policy '${policyId}' is installed on this node`);
    if (!policy.namespaces[namespace]) throw invalidArgument(`release policy '${policyId}' has no namespace '${namespace}'`);
    const existing = this.store.contract(contractId);
    if (existing) {
      if (existing.namespace === namespace && existing.policyId === policyId) return;
      throw alreadyExists('that contract is already registered with another namespace or policy');
    }
    this.ctx.db.transaction(() => {
      this.store.putContract({ contractId, namespace, policyId }, this.ctx.now());
      this.ctx.audit.append(actor, 'contract.registered', { contractId: bytesToHex(contractId), namespace, policyId });
    })();
  }

  revoke(workerKey: Uint8Array, measurement: Uint8Array, reason: string, actor: string): void {
    const hasKey = workerKey.length > 0;
    const hasMeasurement = measurement.length > 0;
    if (hasKey === hasMeasurement) throw invalidArgument('give exactly one of worker_signing_key and measurement');
    if (hasKey && workerKey.length !== 32) throw invalidArgument('worker_signing_key must be 32 bytes');
    if (hasMeasurement && measurement.length !== 32 && measurement.length !== 48) {
      throw invalidArgument('measurement must be a 32-byte MRENCLAVE, a 48-byte MRTD or a 48-byte SNP MEASUREMENT');
    }
    if (Buffer.byteLength(reason, 'utf8') > MAX_REVOCATION_REASON_BYTES) {
      throw invalidArgument(`reason must be at most ${MAX_REVOCATION_REASON_BYTES} bytes of UTF-8`);
    }
    const kind = hasKey ? 'worker-key' : 'measurement';
    const value = hasKey ? workerKey : measurement;
    const stored = reason || 'revoked by an operator';
    this.ctx.db.transaction(() => {
      this.store.revoke(kind, value, stored, this.ctx.now());
      this.ctx.audit.append(actor, 'worker.revoked', { kind, value: bytesToHex(value), reason: stored });
    })();
  }

  // ---- worker calls ----

  /** A fresh signed nonce. Nothing is stored: the signature makes it verifiable, and each member records its use. */
  challenge(): { nonce: Uint8Array; expiresAtMs: string; issuerNodeId: Uint8Array; signature: Uint8Array } {
    this.committee();
    const nonce = new Uint8Array(randomBytes(32));
    const expires = this.ctx.now() + this.ctx.config.challengeTtlMs;
    const signature = signTagged(this.ctx.keys.identitySecret, 'challenge', challengeMessage(nonce, BigInt(expires), this.ctx.self.nodeId));
    return { nonce, expiresAtMs: String(expires), issuerNodeId: this.ctx.self.nodeId, signature };
  }

  /**
   * The master-secret generation of a committee (what contract-key certificates name): the epoch of the
   * genesis that made MPK. A hand-off or refresh keeps it (issue 11 item 7; committee-rounds.ts).
   */
  private generationOf(c: CeremonyRecord): number {
    return this.ctx.genesis.rounds.generation(c.epoch);
  }

  /**
   * The receiving member: its own partial and the other members', returned as soon as k have released
   * and then one more answered or a short grace passed (./quorum.ts); the calls still running are
   * cancelled. `budgetMs` is what is left of the worker's deadline: each member call gets that, less
   * a margin to answer in, so that refusals and silences reach the worker before its deadline.
   */
  async provision(req: ProvisionRequest, budgetMs = DEFAULT_PROVISION_BUDGET_MS): Promise<{ generation: number; partials: SealedPartialWire[]; refusals: string[] }> {
    // This member's own checks first: a request it refuses is never fanned out (issue 10, item 5).
    const mine = this.checkRelease(req);
    const c = mine.c;
    const others = c.roster.filter((m) => m.nodeId !== this.me);
    this.fanOuts.inc();
    const perPeerMs = Math.max(MIN_PEER_CALL_MS, Math.min(DEFAULT_PROVISION_BUDGET_MS, budgetMs - ANSWER_MARGIN_MS));
    const cancel = new AbortController();
    const remote = this.ctx.peerFanOut<SealedPartialWire>(others.map((m) => m.endpoint), 'ProvidePartial', req as unknown as Record<string, unknown>,
      perPeerMs, { signal: cancel.signal });
    const attempts = [
      ...others.map((m, i) => ({ member: m, p: remote[i]! })),
      ...c.roster.filter((m) => m.nodeId === this.me).map((m) => ({ member: m, p: this.release(mine) })),
    ];
    const got = await gatherQuorum(attempts, { need: c.threshold, minGraceMs: 200, maxGraceMs: 2000 });
    cancel.abort();
    const refusals: string[] = [];
    const codes: number[] = [];
    for (const { member: m, error: err } of got.failed) {
      const code = err instanceof RpcError ? err.code : status.INTERNAL;
      const reason = (err instanceof RpcError ? err.message : 'internal error').slice(0, 200);
      // A member that did not answer in time is a transport failure: the worker may retry (UNAVAILABLE).
      codes.push(code === status.DEADLINE_EXCEEDED || code === status.CANCELLED ? status.UNAVAILABLE : code);
      refusals.push(`node ${m.nodeId}: ${code === status.DEADLINE_EXCEEDED ? `no answer within ${perPeerMs} ms` : reason}`);
      this.ctx.log.warn({ member: m.nodeId, code: status[code], reason }, 'a member refused to release a partial; passing the refusal on');
    }
    if (got.ok.length < c.threshold) {
      // Cancelled because k could no longer be reached: named too, so the worker sees every member.
      for (const m of got.pending) {
        codes.push(status.UNAVAILABLE);
        refusals.push(`node ${m.nodeId}: no answer yet (not waited for: too few members released)`);
      }
    }
    const partials = got.ok.map((x) => x.value);
    partials.sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
    refusals.sort();
    if (partials.length < c.threshold) {
      // Report the members' own verdict: if they refused for one reason, that reason is the status.
      const code = codes.length && codes.every((x) => x === codes[0]) ? codes[0]! : status.UNAVAILABLE;
      throw new RpcError(code, `only ${partials.length} of the ${c.threshold} members needed released a partial: ${refusals.join('; ')}`);
    }
    return { generation: this.generationOf(c), partials, refusals };
  }

  private checkProvisionShape(req: ProvisionRequest): WorkerEvidence {
    checkContractId(req.contractId);
    checkVersion(req.version, false);
    const evidence = checkEvidenceShape(req);
    expectBytes(req.workerHpkeKey, 'worker_hpke_key', 65);
    expectBytes(req.workerSigningKey, 'worker_signing_key', 32);
    expectBytes(req.nonce, 'nonce', 32);
    expectBytes(req.challengeIssuerNodeId, 'challenge_issuer_node_id', 16);
    expectBytes(req.challengeSignature, 'challenge_signature', 64);
    if (!/^[0-9]{1,16}$/.test(req.challengeExpiresAtMs)) throw invalidArgument('challenge_expires_at_ms is required');
    return evidence;
  }

  /** This member's own checks and, if they all pass, its sealed partial (DESIGN §5.3). */
  async providePartial(req: ProvisionRequest): Promise<SealedPartialWire> {
    return this.release(this.checkRelease(req));
  }

  /**
   * Every check a member makes before it releases, cheapest first (issue 10, item 5): shape and sizes,
   * contract, version and freeze, the challenge (issuer signature, expiry), then the nonce is spent
   * whatever happens next, then the quote or SNP report is parsed and its report_data / REPORT_DATA
   * compared, revocation of the worker key, and only then signatures, chains, CRLs and collateral,
   * the release policy and the measurement (./worker-evidence.ts).
   */
  private checkRelease(req: ProvisionRequest): CheckedRelease {
    const evidence = this.checkProvisionShape(req);
    const c = this.committee();
    const contract = this.liveContract(req.contractId);
    checkIssuableVersion(this.store, contract, req.version);
    const policy = this.installedPolicy(contract.policyId);
    if (!policy) throw failedPrecondition(`the contract's release policy '${contract.policyId}' is not installed on this member`);

    // The challenge: issued by a member, signed, fresh, unused.
    const issuer = c.roster.find((m) => m.nodeId === bytesToHex(req.challengeIssuerNodeId));
    if (!issuer) throw permissionDenied('the challenge was not issued by a committee member');
    const expires = BigInt(req.challengeExpiresAtMs);
    if (!verifyTagged(hexToBytes(issuer.identityKey), 'challenge', challengeMessage(req.nonce, expires, req.challengeIssuerNodeId), req.challengeSignature)) {
      throw permissionDenied('the challenge signature does not verify');
    }
    if (Number(expires) < this.ctx.now()) throw permissionDenied('the challenge nonce has expired; ask for a new one');
    // Spent here, before anything costly: a failed request uses up its challenge too.
    if (!this.store.useChallenge(req.nonce, this.ctx.now())) throw permissionDenied('replayed challenge: this nonce was already used');

    // report_data must bind the worker's keys and this nonce: checked on the parsed evidence, unverified.
    const expected = workerReportData(req.workerHpkeKey, req.workerSigningKey, req.nonce);
    if (!equalBytes(claimedReportData(evidence), expected)) {
      throw permissionDenied(evidence.kind === 'dcap' ? "the quote's report_data does not bind the worker's keys and the challenge nonce"
        : "the SNP report's REPORT_DATA does not bind the worker's keys and the challenge nonce");
    }
    const revokedKey = this.store.isRevoked('worker-key', req.workerSigningKey);
    if (revokedKey !== undefined) throw permissionDenied(`this worker key is revoked: ${revokedKey}`);

    // Only now the costly part: the evidence against what this member trusts, then the namespace's policy.
    let attestation;
    try {
      attestation = attestationPolicyFor(policy, contract.namespace, expected);
    } catch (err) {
      if (err instanceof ReleasePolicyError) throw failedPrecondition(err.message);
      throw err;
    }
    const verified = verifyEvidence(evidence, attestation, {
      now: new Date(this.ctx.now()), dcapRoot: this.trustedRoot, dcapCache: this.cache, snpArks: this.snpArks, snpCache: this.snpCache,
    }, (accepted) => this.verifications.inc({ result: accepted ? 'accepted' : 'refused', tee: evidence.kind }));
    const revokedM = this.store.isRevoked('measurement', verified.measurement);
    if (revokedM !== undefined) throw permissionDenied(`this worker's measurement is revoked: ${revokedM}`);
    return { req, c, verified };
  }

  /** Records the release, then evaluates and seals this member's partial to the worker. */
  private async release({ req, c, verified }: CheckedRelease): Promise<SealedPartialWire> {
    const { measurement } = verified;
    const share = this.ctx.genesis.derivationShare(c.epoch);
    if (!share) throw failedPrecondition('this member has no key shares');
    try {
      this.ctx.db.transaction(() => {
        this.store.recordProvisioned({ contractId: req.contractId, version: req.version, workerSigningKey: req.workerSigningKey,
          workerHpkeKey: req.workerHpkeKey, measurement, generation: this.generationOf(c) }, this.ctx.now());
        this.ctx.audit.append('worker', 'contract-key.released', {
          contractId: bytesToHex(req.contractId), version: req.version, generation: this.generationOf(c), tee: verified.tee,
          measurement: bytesToHex(measurement), status: verified.detail, worker: fingerprint(req.workerSigningKey),
        });
      })();
      const partial = evaluatePartial(share, req.contractId, req.version);
      const plaintext = utf8(JSON.stringify(encodePartial(partial)));
      const { enc, ciphertext } = await hpkeSeal(req.workerHpkeKey, partialInfo(req.contractId, req.version, this.ctx.self.nodeId), plaintext);
      return { nodeId: this.ctx.self.nodeId, shareIdentifier: hexToBytes(share.identifier), sealed: concatBytes(enc, ciphertext) };
    } finally {
      share.signingShare.fill(0);
    }
  }

  // ---- publication ----

  /**
   * A member's checks of a publication (DESIGN §5.4): the worker's signature, the contract live and
   * the version issuable (not above current, not retired), the worker key and its measurement not
   * revoked, this member provisioned that worker, and no different key published before.
   */
  private checkPublication(p: PublishRequest): ContractState {
    checkContractId(p.contractId);
    checkVersion(p.version, false);
    expectBytes(p.publicKey, 'public_key', 33);
    expectBytes(p.workerSigningKey, 'worker_signing_key', 32);
    expectBytes(p.signature, 'signature', 64);
    if (!verifyTagged(p.workerSigningKey, 'worker-publication', publicationMessage(p.contractId, p.version, p.publicKey), p.signature)) {
      throw permissionDenied('the publication signature does not verify under the worker signing key');
    }
    const contract = this.liveContract(p.contractId);
    checkIssuableVersion(this.store, contract, p.version);
    const revokedKey = this.store.isRevoked('worker-key', p.workerSigningKey);
    if (revokedKey !== undefined) throw permissionDenied(`this worker key is revoked: ${revokedKey}`);
    const provisioned = this.store.provisioned(p.contractId, p.version, p.workerSigningKey);
    if (!provisioned) throw permissionDenied('this member never provisioned that worker for that contract and version');
    const revokedM = this.store.isRevoked('measurement', provisioned.measurement);
    if (revokedM !== undefined) throw permissionDenied(`this worker's measurement is revoked: ${revokedM}`);
    // The key this member knows for (cid, v): the certified one, else the first publication it accepted.
    const certified = this.store.contractKey(p.contractId, p.version);
    const earlier = this.store.publication(p.contractId, p.version);
    const known = certified?.publicKey ?? earlier?.publicKey;
    if (known && !equalBytes(known, p.publicKey)) {
      const first: ConflictingKey = certified
        ? { publicKey: certified.publicKey, workerSigningKey: new Uint8Array(), signature: new Uint8Array(), generation: certified.generation, certificate: certified.certificate }
        : { publicKey: earlier!.publicKey, workerSigningKey: earlier!.workerSigningKey, signature: earlier!.signature ?? new Uint8Array(), generation: 0, certificate: new Uint8Array() };
      this.pendingAlarm = this.raiseAlarm({ contractId: p.contractId, version: p.version, first,
        second: { publicKey: p.publicKey, workerSigningKey: p.workerSigningKey, signature: p.signature, generation: 0, certificate: new Uint8Array() } });
      throw alreadyExists('a different public key was already published for that contract and version; the contract is now frozen');
    }
    return contract;
  }

  /**
   * Two different keys for one (contract, version): this member freezes the contract, raises the
   * alarm, and hands the evidence to every other member, which checks it and freezes too.
   */
  private raiseAlarm(a: ContractAlarmWire, broadcast = true, actor = 'worker'): Promise<void> {
    const detail = { contractId: bytesToHex(a.contractId), version: a.version, published: bytesToHex(a.first!.publicKey),
      offered: bytesToHex(a.second!.publicKey), worker: fingerprint(a.second!.workerSigningKey) };
    const text = JSON.stringify({ version: a.version, detail: `keys ${detail.published.slice(0, 16)}… and ${detail.offered.slice(0, 16)}…` });
    this.ctx.db.transaction(() => {
      this.store.setAlarm(a.contractId, text);
      this.ctx.audit.append(actor, 'alarm.conflicting-publication', detail);
    })();
    this.certified.clear();
    this.ctx.metrics.alarms.inc({ kind: 'conflicting-publication' });
    this.ctx.log.error(detail, 'ALARM: a second, different contract public key was offered; the contract is frozen');
    if (!broadcast) return Promise.resolve();
    const c = this.ctx.genesis.activeCommittee();
    if (!c) return Promise.resolve();
    return Promise.allSettled(c.roster.filter((m) => m.nodeId !== this.me).map((m) =>
      this.ctx.peerCall(m.endpoint, 'RaiseContractAlarm', a as unknown as Record<string, unknown>, 5000))).then(() => undefined);
  }

  /** PeerService.RaiseContractAlarm: freezes the contract if both sides are proven keys for (cid, v) and differ. */
  acceptAlarm(a: ContractAlarmWire): void {
    const c = this.committee();
    const contractId = checkContractId(a.contractId);
    const version = checkVersion(a.version, false);
    if (!this.store.contract(contractId)) throw notFound('that contract is not registered');
    if (!a.first || !a.second) throw invalidArgument('an alarm needs both conflicting keys');
    const cpk = this.ctx.genesis.publicKeys(c.epoch)!.signing.groupPublicKey;
    for (const [name, k] of [['first', a.first], ['second', a.second]] as const) {
      expectBytes(k.publicKey, `${name}.public_key`, 33);
      if (!this.provenKey(contractId, version, k, cpk)) {
        throw permissionDenied(`the ${name} key is neither certified nor published by a worker this member provisioned`);
      }
    }
    if (equalBytes(a.first.publicKey, a.second.publicKey)) throw invalidArgument('the two keys are the same: no conflict');
    if (this.store.contract(contractId)!.alarm !== undefined) return;
    void this.raiseAlarm({ ...a, contractId, version }, false, 'peer');
  }

  /** A key is proven by a committee certificate, or by the signature of a worker this member provisioned. */
  private provenKey(cid: Uint8Array, version: number, k: ConflictingKey, cpk: Uint8Array): boolean {
    if (k.certificate instanceof Uint8Array && k.certificate.length === 64 && Number.isInteger(k.generation)
      && verifyGroupSignature(cpk, contractKeyCertificateMessage(cid, version, k.generation, k.publicKey), k.certificate)) return true;
    return k.workerSigningKey instanceof Uint8Array && k.workerSigningKey.length === 32 && k.signature instanceof Uint8Array
      && k.signature.length === 64 && this.store.provisioned(cid, version, k.workerSigningKey) !== undefined
      && verifyTagged(k.workerSigningKey, 'worker-publication', publicationMessage(cid, version, k.publicKey), k.signature);
  }

  // ---- provisioning receipts (the publication quorum every signer checks) ----

  /** This member's signed receipt that it provisioned `workerSigningKey` for (cid, v). */
  provisionReceipt(r: { contractId: Uint8Array; version: number; workerSigningKey: Uint8Array }): ProvisionReceipt {
    this.committee();
    const contractId = checkContractId(r.contractId);
    const version = checkVersion(r.version, false);
    expectBytes(r.workerSigningKey, 'worker_signing_key', 32);
    if (!this.store.provisioned(contractId, version, r.workerSigningKey)) {
      throw notFound('this member never provisioned that worker for that contract and version');
    }
    const nodeId = this.ctx.self.nodeId;
    return { nodeId, signature: signTagged(this.ctx.keys.identitySecret, 'provisioned', provisionReceiptMessage(contractId, version, r.workerSigningKey, nodeId)) };
  }

  /** Members of `c` vouching, with a valid receipt, that they provisioned the publishing worker. */
  private vouchingMembers(c: CeremonyRecord, p: PublishRequest): Set<string> {
    const receipts = p.provisionedBy ?? [];
    if (!Array.isArray(receipts) || receipts.length > 255) throw invalidArgument('provisioned_by must list at most 255 receipts');
    const good = new Set<string>();
    for (const r of receipts) {
      if (!(r?.nodeId instanceof Uint8Array) || r.nodeId.length !== 16 || !(r.signature instanceof Uint8Array)) continue;
      const id = bytesToHex(r.nodeId);
      const m = c.roster.find((x) => x.nodeId === id);
      if (!m || good.has(id)) continue;
      if (verifyTagged(hexToBytes(m.identityKey), 'provisioned', provisionReceiptMessage(p.contractId, p.version, p.workerSigningKey, r.nodeId), r.signature)) {
        good.add(id);
      }
    }
    return good;
  }

  /**
   * A signer's check for purpose "contract-key": a publication it accepts itself, carrying receipts of
   * at least the policy's publicationQuorum members (issue 10, item 12: not only the coordinator checks).
   */
  private checkPublicationToSign(c: CeremonyRecord, message: Uint8Array, publication: Record<string, unknown> | null): void {
    if (!publication) throw invalidArgument('a contract-key signature needs the publication it certifies');
    const p = publication as unknown as PublishRequest;
    const contract = this.checkPublication(p);
    if (!equalBytes(message, contractKeyCertificateMessage(p.contractId, p.version, this.generationOf(c), p.publicKey))) {
      throw permissionDenied('this member does not sign that message');
    }
    const quorum = this.installedPolicy(contract.policyId)?.publicationQuorum ?? 0;
    const vouching = this.vouchingMembers(c, p).size;
    if (vouching < quorum) {
      throw permissionDenied(`the publication carries ${vouching} valid provisioning receipt(s); the release policy's publicationQuorum is ${quorum}`);
    }
    this.store.putPublication(p.contractId, p.version, p.publicKey, p.workerSigningKey, p.signature, this.ctx.now());
  }

  /**
   * A worker's publication: receipts from enough members that provisioned it, the committee's FROST
   * signature (the signer finishes at k, ../ceremony/signer.ts), then the first delivery. Each member
   * call's deadline comes out of `budgetMs`, what is left of the worker's deadline.
   */
  async publish(req: PublishRequest, budgetMs = DEFAULT_PROVISION_BUDGET_MS): Promise<{ generation: number; certificate: Uint8Array }> {
    const deadline = this.ctx.now() + Math.min(budgetMs, DEFAULT_PROVISION_BUDGET_MS) - ANSWER_MARGIN_MS;
    const left = () => Math.max(MIN_PEER_CALL_MS, deadline - this.ctx.now());
    const p: PublishRequest = { contractId: req.contractId, version: req.version, publicKey: req.publicKey, workerSigningKey: req.workerSigningKey, signature: req.signature };
    let contract: ContractState;
    try {
      contract = this.checkPublication(p);
    } catch (err) {
      // A conflict: the other members hear of it before the worker hears the refusal.
      const pending = this.pendingAlarm;
      this.pendingAlarm = undefined;
      if (pending) await pending;
      throw err;
    }
    const c = this.committee();
    const existing = this.store.contractKey(p.contractId, p.version);
    if (existing) return { generation: existing.generation, certificate: existing.certificate };
    const quorum = this.installedPolicy(contract.policyId)?.publicationQuorum ?? 0;
    // The evidence every signer checks: each member's own signed receipt that it provisioned the worker.
    const peers = c.roster.filter((m) => m.nodeId !== this.me);
    const cancel = new AbortController();
    const receipts = this.ctx.peerFanOut<ProvisionReceipt>(peers.map((m) => m.endpoint),
      'GetProvisionReceipt', { contractId: p.contractId, version: p.version, workerSigningKey: p.workerSigningKey }, Math.min(5000, Math.floor(left() / 3)),
      { signal: cancel.signal });
    const provisionedBy = [this.provisionReceipt(p)];
    // Enough receipts for the quorum (and the threshold of signers): more would vouch for nothing more.
    const got = await gatherQuorum(peers.map((m, i) => ({ member: m, p: receipts[i]! })),
      { need: Math.max(quorum, c.threshold) - 1, minGraceMs: 0, maxGraceMs: 0 });
    cancel.abort();
    for (const r of got.ok) provisionedBy.push(r.value);
    if (provisionedBy.length < quorum) {
      throw failedPrecondition(`only ${provisionedBy.length} member(s) provisioned this worker; the release policy's publicationQuorum is ${quorum}`);
    }
    p.provisionedBy = provisionedBy;
    const generation = this.generationOf(c);
    const message = contractKeyCertificateMessage(p.contractId, p.version, generation, p.publicKey);
    const refusals: string[] = [];
    const certificate = await this.ctx.genesis.coordinateSignature(c, message, 'contract-key',
      { publication: p as unknown as Record<string, unknown>, signers: quorum, refusals, budgetMs: left() });
    if (!certificate) {
      throw unavailable(`the committee could not certify the key (need ${Math.max(c.threshold, quorum)} signers): ${refusals.join('; ').slice(0, 2000) || 'signing failed'}`);
    }
    const record = { contractId: p.contractId, version: p.version, generation, publicKey: p.publicKey, certificate };
    // The key and one outbox row per other member in one transaction: every member gets it eventually.
    this.ctx.db.transaction(() => {
      this.putCertified(record);
      this.store.queueDelivery(peers.map((m) => m.nodeId), p.contractId, p.version, this.ctx.now());
      this.ctx.audit.append('worker', 'contract-key.published', { contractId: bytesToHex(p.contractId), version: p.version, generation, publicKey: bytesToHex(p.publicKey) });
    })();
    // The first delivery now, waited for briefly and only to the members that just answered (those that
    // are up store it in milliseconds); the outbox retries the rest from the node tick until each
    // member acknowledged.
    const answered = new Set(got.ok.map((r) => r.member.nodeId));
    const first = this.deliverDue(p.contractId, p.version, answered).catch((err: unknown) =>
      this.ctx.log.warn({ err: err instanceof Error ? err.message.slice(0, 200) : String(err) }, 'first delivery of a certified key failed; the outbox retries it'));
    await Promise.race([first, new Promise<void>((r) => setTimeout(r, PUSH_WAIT_MS).unref())]);
    return { generation, certificate };
  }

  /** A certified key pushed by the member that coordinated its signature. */
  async storeCertified(r: { contractId: Uint8Array; version: number; generation: number; publicKey: Uint8Array; certificate: Uint8Array }): Promise<void> {
    const c = this.committee();
    checkContractId(r.contractId);
    checkVersion(r.version, false);
    expectBytes(r.publicKey, 'public_key', 33);
    expectBytes(r.certificate, 'certificate', 64);
    const cpk = this.ctx.genesis.publicKeys(c.epoch)!.signing.groupPublicKey;
    if (!verifyGroupSignature(cpk, contractKeyCertificateMessage(r.contractId, r.version, r.generation, r.publicKey), r.certificate)) {
      throw permissionDenied('the contract key certificate does not verify under the committee key');
    }
    const existing = this.store.contractKey(r.contractId, r.version);
    if (existing && !equalBytes(existing.publicKey, r.publicKey)) {
      const none = { workerSigningKey: new Uint8Array(), signature: new Uint8Array() };
      await this.raiseAlarm({ contractId: r.contractId, version: r.version,
        first: { ...none, publicKey: existing.publicKey, generation: existing.generation, certificate: existing.certificate },
        second: { ...none, publicKey: r.publicKey, generation: r.generation, certificate: r.certificate } });
      throw alreadyExists('a different public key is already certified for that contract and version; the contract is now frozen');
    }
    this.putCertified(r);
  }

  // ---- delivery of certified keys (issue 12, item 2; docs/provisioning.md "Every member gets the key") ----

  /** Outbox rows in flight, so that the tick and publish() never send one twice at once. */
  private readonly sending = new Set<string>();
  private ticking = false;
  private syncing = false;
  private lastSyncMs: number | undefined;
  private readonly lastMissSync = new Map<string, number>();

  /** From the node tick: due outbox deliveries, and now and then the keys this member lacks. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      if (!this.ctx.genesis.activeCommittee()) return;
      const now = this.ctx.now();
      if (!this.syncing && (this.lastSyncMs === undefined || now - this.lastSyncMs >= SYNC_EVERY_MS)) {
        // In the background: a slow peer must not hold up the outbox.
        this.lastSyncMs = now;
        this.syncing = true;
        void this.syncFromPeers().catch((err: unknown) => this.ctx.log.warn({ err: err instanceof Error ? err.message.slice(0, 200) : String(err) },
          'fetching certified contract keys from the peers failed; retrying later')).finally(() => { this.syncing = false; });
      }
      await this.deliverDue();
    } catch (err) {
      this.ctx.log.warn({ err: err instanceof Error ? err.message.slice(0, 200) : String(err) }, 'contract key delivery tick failed; retrying on the next tick');
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Sends the due outbox rows (or only those of one key) to their members. A member that stored the
   * key, or already had it, acknowledges and its row is deleted; one that refuses it for good (a
   * conflict: the alarm is then raised on both sides) is dropped with a warning; any other failure is
   * retried later with backoff.
   */
  async deliverDue(contractId?: Uint8Array, version?: number, waitFor?: Set<string>): Promise<void> {
    const c = this.ctx.genesis.activeCommittee();
    if (!c) return;
    const rows = contractId ? this.store.deliveriesOf(contractId, version!) : this.store.dueDeliveries(this.ctx.now(), 64);
    const sends = rows.map(async (r) => {
      const id = `${r.peerNodeId}/${bytesToHex(r.contractId)}/${r.version}`;
      if (this.sending.has(id)) return;
      const member = c.roster.find((m) => m.nodeId === r.peerNodeId);
      const key = this.store.contractKey(r.contractId, r.version);
      if (!member || !key || key.generation !== this.generationOf(c)) {
        // Not a member of the active committee any more, or a key of another master-secret generation.
        this.store.delivered(r.peerNodeId, r.contractId, r.version);
        return;
      }
      this.sending.add(id);
      try {
        await this.ctx.peerCall(member.endpoint, 'StoreContractKey', key as unknown as Record<string, unknown>, 3000);
        this.store.delivered(r.peerNodeId, r.contractId, r.version);
      } catch (err) {
        const code = err instanceof RpcError ? err.code : status.INTERNAL;
        const reason = (err instanceof RpcError ? err.message : 'internal error').slice(0, 200);
        if (code === status.ALREADY_EXISTS || code === status.PERMISSION_DENIED || code === status.INVALID_ARGUMENT) {
          this.ctx.log.warn({ member: r.peerNodeId, version: r.version, code: status[code], reason }, 'a member refused a certified contract key for good; not retried');
          this.store.delivered(r.peerNodeId, r.contractId, r.version);
        } else {
          const backoff = exponentialBackoffMs(r.attempts, 1000, OUTBOX_MAX_BACKOFF_MS);
          this.store.deliveryFailed(r.peerNodeId, r.contractId, r.version, this.ctx.now() + backoff, `${status[code]}: ${reason}`);
        }
      } finally {
        this.sending.delete(id);
      }
    });
    // With `waitFor`, only those members' deliveries are waited for; the others go on (they never reject).
    await Promise.all(waitFor ? sends.filter((_, i) => waitFor.has(rows[i]!.peerNodeId)) : sends);
  }

  /**
   * Asks the other members for the certified keys this member lacks (versions above its newest
   * certified one, up to the contract's current version) and stores each one whose certificate verifies
   * under the committee key (storeCertified: a certificate proves itself, whoever relays it).
   */
  async syncFromPeers(only?: Uint8Array): Promise<number> {
    const c = this.ctx.genesis.activeCommittee();
    if (!c) return 0;
    const peers = c.roster.filter((m) => m.nodeId !== this.me && !this.ctx.peerHealth.isDown(m.endpoint));
    let stored = 0;
    for (const k of this.store.contractsForSync()) {
      if (only && !equalBytes(only, k.contractId)) continue;
      for (let v = k.newestCertified + 1; v <= k.currentVersion && v <= k.newestCertified + 16; v++) {
        if (this.store.isRetired(k.contractId, v) || this.store.contractKey(k.contractId, v)) continue;
        for (const m of peers) {
          try {
            const r = await this.ctx.peerPublicCall<ContractKeyRow>(m.endpoint, 'GetContractKey', { contractId: k.contractId, version: v }, 2000);
            if (r.version !== v) continue;
            await this.storeCertified({ contractId: k.contractId, version: v, generation: r.generation, publicKey: r.publicKey, certificate: r.certificate });
            this.ctx.log.info({ contractId: bytesToHex(k.contractId).slice(0, 64), version: v, from: m.nodeId }, 'fetched a certified contract key this member lacked');
            stored++;
            break;
          } catch (err) {
            // That member lacks it too, or relayed something that does not verify: ask the next one.
            if (err instanceof RpcError && err.code === status.ALREADY_EXISTS) return stored;
          }
        }
      }
    }
    return stored;
  }

  /** A GetContractKey miss: ask the peers for that contract's keys in the background, at most every MISS_SYNC_EVERY_MS. */
  private syncOnMiss(contractId: Uint8Array): void {
    const id = bytesToHex(contractId);
    const now = this.ctx.now();
    const last = this.lastMissSync.get(id);
    if (last !== undefined && now - last < MISS_SYNC_EVERY_MS) return;
    if (this.lastMissSync.size > 10_000) this.lastMissSync.clear();
    this.lastMissSync.set(id, now);
    void this.syncFromPeers(contractId).catch(() => undefined);
  }

  private putCertified(r: ContractKeyRow): void {
    this.store.putContractKey(r, this.ctx.now());
    this.certified.clear();
  }

  /**
   * PublicService.GetContractKey. Version 0 is the contract's current version; while that version has
   * no certified key yet, the newest certified, not retired version below it is served (clients keep
   * encrypting to the last certified key until the new one is published). Retired versions are not
   * served, and nothing is served while the contract is frozen by an alarm. Answers are cached; every
   * change of keys, versions or alarms clears the cache.
   */
  get(contractIdRaw: unknown, versionRaw: unknown): ContractKeyRow & { currentVersion: number } {
    const contractId = checkContractId(contractIdRaw);
    const version = checkVersion(versionRaw, true);
    const cacheKey = `${bytesToHex(contractId)}/${version}`;
    const hit = this.certified.get(cacheKey);
    if (hit) return hit;
    const contract = this.store.contract(contractId);
    if (!contract) throw notFound('unknown contract');
    const alarm = parseAlarm(contract.alarm);
    if (alarm) throw frozenError(alarm);
    let k: ContractKeyRow | undefined;
    if (version === 0) {
      k = this.store.newestServable(contractId, contract.currentVersion);
      if (!k || k.version < contract.currentVersion) this.syncOnMiss(contractId);
      if (!k) throw failedPrecondition(`the contract is registered (current version ${contract.currentVersion}) but no key of it is published yet`);
    } else {
      if (this.store.isRetired(contractId, version)) throw failedPrecondition(`version ${version} of this contract is retired`);
      k = this.store.contractKey(contractId, version);
      if (!k && version <= contract.currentVersion) this.syncOnMiss(contractId);
      if (!k) throw failedPrecondition(`the contract is registered but version ${version} of its key is not published yet`);
    }
    const answer = { ...k, currentVersion: contract.currentVersion };
    if (this.certified.size > 100_000) this.certified.clear();
    this.certified.set(cacheKey, answer);
    return answer;
  }
}
