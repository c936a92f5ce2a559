// Contract keys on a member (DESIGN §4, §5): challenges, attested release of this member's partial
// evaluation, the fan-out that lets a worker use one endpoint, publication of pk_c with a FROST
// certificate, and the public key service. Every member checks quote, policy, nonce and report_data
// itself before it evaluates anything with its share.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { status } from '@grpc/grpc-js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, utf8 } from '../crypto/bytes.js';
import { signTagged, verifyTagged } from '../crypto/identity.js';
import { hpkeSeal } from '../crypto/hpke.js';
import { encodePartial, evaluatePartial } from '../crypto/contract-key.js';
import { verifyGroupSignature } from '../crypto/frost.js';
import { evaluatePolicy, loadCollateral, verifyQuote, VerificationCache, INTEL_SGX_ROOT_CA_DER, type AcceptedVerdict } from '../attestation/index.js';
import {
  challengeMessage, contractKeyCertificateMessage, fingerprint, partialInfo, publicationMessage, workerReportData,
} from '../keys/wire.js';
import { attestationPolicyFor, parseReleasePolicy, verifyPolicySignatures, ReleasePolicyError, type ReleasePolicy } from '../keys/release-policy.js';
import { ContractStore, type ContractKeyRow } from '../store/contract-store.js';
import type { CeremonyRecord } from '../store/ceremony-store.js';
import {
  alreadyExists, expectBytes, failedPrecondition, invalidArgument, notFound, permissionDenied, RpcError, unavailable,
} from '../rpc/errors.js';
import type { NodeContext } from './context.js';

export interface ProvisionRequest {
  contractId: Uint8Array; version: number; quote: Uint8Array; collateralJson: string; workerHpkeKey: Uint8Array;
  workerSigningKey: Uint8Array; nonce: Uint8Array; challengeExpiresAtMs: string; challengeIssuerNodeId: Uint8Array;
  challengeSignature: Uint8Array;
}

export interface PublishRequest {
  contractId: Uint8Array; version: number; publicKey: Uint8Array; workerSigningKey: Uint8Array; signature: Uint8Array;
}

export interface SealedPartialWire { nodeId: Uint8Array; shareIdentifier: Uint8Array; sealed: Uint8Array }

function checkContractId(id: unknown): Uint8Array {
  if (!(id instanceof Uint8Array) || id.length === 0 || id.length > 255) throw invalidArgument('contract_id must be 1 to 255 bytes');
  return new Uint8Array(id);
}

function checkVersion(v: unknown, allowLatest: boolean): number {
  if (!Number.isInteger(v) || (v as number) < (allowLatest ? 0 : 1)) throw invalidArgument(`version must be ${allowLatest ? '0 (latest) or more' : 'at least 1'}`);
  return v as number;
}

export class ContractKeys {
  readonly store: ContractStore;
  private readonly cache = new VerificationCache();
  private readonly trustedRoot: Uint8Array;
  private readonly certified = new Map<string, ContractKeyRow>();
  /** Parsed policies by id, kept with the serial they were parsed at (a newer serial replaces them). */
  private readonly policies = new Map<string, ReleasePolicy>();

  constructor(private readonly ctx: NodeContext) {
    this.store = new ContractStore(ctx.db);
    const rootFile = ctx.config.attestation.trustedRootFile;
    this.trustedRoot = rootFile ? new Uint8Array(fs.readFileSync(rootFile)) : INTEL_SGX_ROOT_CA_DER;
    ctx.genesis.registerSigningPurpose('contract-key', (c, message, publication) => this.checkPublicationToSign(c, message, publication));
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
    const policy = parseReleasePolicy(stored.policyJson);
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
    if (hasMeasurement && measurement.length !== 32 && measurement.length !== 48) throw invalidArgument('measurement must be a 32-byte MRENCLAVE or a 48-byte MRTD');
    const kind = hasKey ? 'worker-key' : 'measurement';
    const value = hasKey ? workerKey : measurement;
    this.ctx.db.transaction(() => {
      this.store.revoke(kind, value, reason.slice(0, 500) || 'revoked by an operator', this.ctx.now());
      this.ctx.audit.append(actor, 'worker.revoked', { kind, value: bytesToHex(value), reason });
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

  /** The receiving member: its own partial and every other member's, gathered before the deadline. */
  async provision(req: ProvisionRequest): Promise<{ generation: number; partials: SealedPartialWire[]; refusals: string[] }> {
    this.checkProvisionShape(req);
    const c = this.committee();
    const refusals: string[] = [];
    const codes: number[] = [];
    const partials: SealedPartialWire[] = [];
    const others = c.roster.filter((m) => m.nodeId !== this.me);
    const remote = this.ctx.peerFanOut<SealedPartialWire>(others.map((m) => m.endpoint), 'ProvidePartial', req as unknown as Record<string, unknown>, 10_000);
    const attempts = [
      ...others.map((m, i) => ({ m, p: remote[i]! })),
      ...c.roster.filter((m) => m.nodeId === this.me).map((m) => ({ m, p: this.providePartial(req) })),
    ];
    await Promise.all(attempts.map(async ({ m, p }) => {
      try {
        partials.push(await p);
      } catch (err) {
        const code = err instanceof RpcError ? err.code : status.INTERNAL;
        codes.push(code);
        refusals.push(`node ${m.nodeId}: ${err instanceof RpcError ? err.message : 'internal error'}`);
      }
    }));
    partials.sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
    refusals.sort();
    if (partials.length < c.threshold) {
      // Report the members' own verdict: if they refused for one reason, that reason is the status.
      const code = codes.length && codes.every((x) => x === codes[0]) ? codes[0]! : status.UNAVAILABLE;
      throw new RpcError(code, `only ${partials.length} of the ${c.threshold} members needed released a partial: ${refusals.join('; ')}`);
    }
    return { generation: c.epoch, partials, refusals };
  }

  private checkProvisionShape(req: ProvisionRequest): void {
    checkContractId(req.contractId);
    checkVersion(req.version, false);
    if (!(req.quote instanceof Uint8Array) || req.quote.length === 0) throw invalidArgument('quote is required');
    if (typeof req.collateralJson !== 'string' || req.collateralJson.length === 0) throw invalidArgument('collateral_json is required');
    expectBytes(req.workerHpkeKey, 'worker_hpke_key', 65);
    expectBytes(req.workerSigningKey, 'worker_signing_key', 32);
    expectBytes(req.nonce, 'nonce', 32);
    expectBytes(req.challengeIssuerNodeId, 'challenge_issuer_node_id', 16);
    expectBytes(req.challengeSignature, 'challenge_signature', 64);
    if (!/^[0-9]{1,16}$/.test(req.challengeExpiresAtMs)) throw invalidArgument('challenge_expires_at_ms is required');
  }

  /** This member's own checks and, if they all pass, its sealed partial (DESIGN §5.3). */
  async providePartial(req: ProvisionRequest): Promise<SealedPartialWire> {
    this.checkProvisionShape(req);
    const c = this.committee();
    const contract = this.store.contract(req.contractId);
    if (!contract) throw notFound('that contract is not registered');
    const policy = this.installedPolicy(contract.policyId);
    if (!policy) throw failedPrecondition(`the contract's release policy '${contract.policyId}' is not installed on this member`);

    // The challenge: issued by a member, signed, fresh, unused (checked again when it is consumed).
    const issuer = c.roster.find((m) => m.nodeId === bytesToHex(req.challengeIssuerNodeId));
    if (!issuer) throw permissionDenied('the challenge was not issued by a committee member');
    const expires = BigInt(req.challengeExpiresAtMs);
    if (!verifyTagged(hexToBytes(issuer.identityKey), 'challenge', challengeMessage(req.nonce, expires, req.challengeIssuerNodeId), req.challengeSignature)) {
      throw permissionDenied('the challenge signature does not verify');
    }
    if (Number(expires) < this.ctx.now()) throw permissionDenied('the challenge nonce has expired; ask for a new one');

    // The quote, against the pinned root and the collateral the worker sent.
    let collateral;
    try { collateral = loadCollateral(req.collateralJson); } catch (err) {
      throw invalidArgument(`collateral_json: ${err instanceof Error ? err.message : String(err)}`);
    }
    const verdict = verifyQuote(req.quote, collateral, {
      now: new Date(this.ctx.now()), trustedRoot: this.trustedRoot, cache: this.cache,
      minTcbEvaluationDataNumber: policy.attestation.minTcbEvaluationDataNumber,
    });
    if (!verdict.ok) throw permissionDenied(`the quote does not verify (${verdict.step}): ${verdict.error}`);
    const expected = workerReportData(req.workerHpkeKey, req.workerSigningKey, req.nonce);
    if (verdict.reportData !== bytesToHex(expected)) {
      throw permissionDenied("the quote's report_data does not bind the worker's keys and the challenge nonce");
    }
    const result = evaluatePolicy(verdict, attestationPolicyFor(policy, contract.namespace, expected));
    if (!result.ok) throw permissionDenied(`the release policy refuses this worker (${result.check}): ${result.error}`);
    const measurement = measurementOf(verdict);
    const revokedKey = this.store.isRevoked('worker-key', req.workerSigningKey);
    if (revokedKey !== undefined) throw permissionDenied(`this worker key is revoked: ${revokedKey}`);
    const revokedM = this.store.isRevoked('measurement', measurement);
    if (revokedM !== undefined) throw permissionDenied(`this worker's measurement is revoked: ${revokedM}`);

    // Consume the nonce and record the release before the partial leaves this member.
    const share = this.ctx.genesis.derivationShare(c.epoch);
    if (!share) throw failedPrecondition('this member has no key shares');
    try {
      this.ctx.db.transaction(() => {
        if (!this.store.useChallenge(req.nonce, this.ctx.now())) throw permissionDenied('replayed challenge: this nonce was already used');
        this.store.recordProvisioned({ contractId: req.contractId, version: req.version, workerSigningKey: req.workerSigningKey,
          workerHpkeKey: req.workerHpkeKey, measurement, generation: c.epoch }, this.ctx.now());
        this.ctx.audit.append('worker', 'contract-key.released', {
          contractId: bytesToHex(req.contractId), version: req.version, generation: c.epoch, tee: verdict.tee,
          measurement: bytesToHex(measurement), status: verdict.status, worker: fingerprint(req.workerSigningKey),
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

  private checkPublication(p: PublishRequest): void {
    checkContractId(p.contractId);
    checkVersion(p.version, false);
    expectBytes(p.publicKey, 'public_key', 33);
    expectBytes(p.workerSigningKey, 'worker_signing_key', 32);
    expectBytes(p.signature, 'signature', 64);
    if (!verifyTagged(p.workerSigningKey, 'worker-publication', publicationMessage(p.contractId, p.version, p.publicKey), p.signature)) {
      throw permissionDenied('the publication signature does not verify under the worker signing key');
    }
    if (!this.store.provisioned(p.contractId, p.version, p.workerSigningKey)) {
      throw permissionDenied('this member never provisioned that worker for that contract and version');
    }
    const earlier = this.store.publication(p.contractId, p.version);
    if (earlier && !equalBytes(earlier.publicKey, p.publicKey)) {
      this.alarm(p, earlier.publicKey);
      throw alreadyExists('a different public key was already published for that contract and version');
    }
  }

  private alarm(p: PublishRequest, earlier: Uint8Array): void {
    const detail = { contractId: bytesToHex(p.contractId), version: p.version, published: bytesToHex(earlier), offered: bytesToHex(p.publicKey), worker: fingerprint(p.workerSigningKey) };
    this.ctx.metrics.alarms.inc({ kind: 'conflicting-publication' });
    this.ctx.log.error(detail, 'ALARM: a second, different contract public key was offered');
    this.ctx.audit.append('worker', 'alarm.conflicting-publication', detail);
  }

  /** A signer's check for purpose "contract-key": only a publication it accepts itself. */
  private checkPublicationToSign(c: CeremonyRecord, message: Uint8Array, publication: Record<string, unknown> | null): void {
    if (!publication) throw invalidArgument('a contract-key signature needs the publication it certifies');
    const p = publication as unknown as PublishRequest;
    this.checkPublication(p);
    if (!equalBytes(message, contractKeyCertificateMessage(p.contractId, p.version, c.epoch, p.publicKey))) {
      throw permissionDenied('this member does not sign that message');
    }
    this.store.putPublication(p.contractId, p.version, p.publicKey, p.workerSigningKey, this.ctx.now());
  }

  async publish(p: PublishRequest): Promise<{ generation: number; certificate: Uint8Array }> {
    this.checkPublication(p);
    const c = this.committee();
    const existing = this.store.contractKey(p.contractId, p.version);
    if (existing) return { generation: existing.generation, certificate: existing.certificate };
    const contract = this.store.contract(p.contractId);
    if (!contract) throw notFound('that contract is not registered');
    const quorum = this.installedPolicy(contract.policyId)?.publicationQuorum ?? 0;
    const message = contractKeyCertificateMessage(p.contractId, p.version, c.epoch, p.publicKey);
    const refusals: string[] = [];
    const certificate = await this.ctx.genesis.coordinateSignature(c, message, 'contract-key',
      { publication: p as unknown as Record<string, unknown>, signers: quorum, refusals });
    if (!certificate) {
      throw unavailable(`the committee could not certify the key (need ${Math.max(c.threshold, quorum)} signers): ${refusals.join('; ') || 'signing failed'}`);
    }
    const record = { contractId: p.contractId, version: p.version, generation: c.epoch, publicKey: p.publicKey, certificate };
    this.ctx.db.transaction(() => {
      this.putCertified(record);
      this.ctx.audit.append('worker', 'contract-key.published', { contractId: bytesToHex(p.contractId), version: p.version, generation: c.epoch, publicKey: bytesToHex(p.publicKey) });
    })();
    await Promise.allSettled(c.roster.filter((m) => m.nodeId !== this.me).map((m) =>
      this.ctx.peerCall(m.endpoint, 'StoreContractKey', record as unknown as Record<string, unknown>, 5000)));
    return { generation: c.epoch, certificate };
  }

  /** A certified key pushed by the member that coordinated its signature. */
  storeCertified(r: { contractId: Uint8Array; version: number; generation: number; publicKey: Uint8Array; certificate: Uint8Array }): void {
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
      this.alarm({ ...r, workerSigningKey: new Uint8Array(32), signature: new Uint8Array(64) }, existing.publicKey);
      throw alreadyExists('a different public key is already certified for that contract and version');
    }
    this.putCertified(r);
  }

  private putCertified(r: ContractKeyRow): void {
    this.store.putContractKey(r, this.ctx.now());
    this.certified.delete(`${bytesToHex(r.contractId)}/0`);
  }

  /**
   * PublicService.GetContractKey. A certified key never changes, so answers are cached; the "latest"
   * entry of a contract is dropped whenever a new version of it is stored.
   */
  get(contractIdRaw: unknown, versionRaw: unknown) {
    const contractId = checkContractId(contractIdRaw);
    const version = checkVersion(versionRaw, true);
    const cacheKey = `${bytesToHex(contractId)}/${version}`;
    const hit = this.certified.get(cacheKey);
    if (hit) return hit;
    if (!this.store.contract(contractId)) throw notFound('unknown contract');
    const k = this.store.contractKey(contractId, version);
    if (k) {
      if (this.certified.size > 100_000) this.certified.clear();
      this.certified.set(cacheKey, k);
    }
    if (!k) {
      throw failedPrecondition(version === 0
        ? 'the contract is registered but no key of it is published yet'
        : `the contract is registered but version ${version} of its key is not published yet`);
    }
    return k;
  }
}

/** MRENCLAVE (SGX) or MRTD (TDX): what a measurement revocation names. */
function measurementOf(v: AcceptedVerdict): Uint8Array {
  return hexToBytes(v.tee === 'SGX' ? v.mrEnclave : v.mrTd);
}
