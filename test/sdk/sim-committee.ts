// A simulated committee for SDK and worker tests: real crypto (FROST DKG for both suites, partial
// evaluations with DLEQ proofs sealed per docs/provisioning.md §3, FROST-signed roster and contract
// key certificates) behind a real grpc-js server implementing PublicService and WorkerService on
// 127.0.0.1:0. Each member can be told to misbehave so the tests can check it is named.
import * as grpc from '@grpc/grpc-js';
import { randomBytes, bytesToHex } from '@noble/hashes/utils.js';
import { concatBytes, equalBytes, plain, utf8 } from '../../src/crypto/bytes.js';
import {
  aggregateSignature, dkgRound1, dkgRound2, dkgRound3, identifierForPosition, signShare, signingCommit,
  type DkgRound2Package, type KeyPackage, type Suite,
} from '../../src/crypto/frost.js';
import { encodePartial, evaluatePartial, type Partial } from '../../src/crypto/contract-key.js';
import { generateTransportKeyPair, hpkeSeal } from '../../src/crypto/hpke.js';
import { generateIdentityKey, signTagged, verifyTagged } from '../../src/crypto/identity.js';
import { certificateHash, encodeRoster, rosterCertificateMessage, type Roster } from '../../src/committee/roster.js';
import { nodeIdOf } from '../../src/node/identity.js';
import { serviceDefinition } from '../../src/rpc/proto.js';
import { unary } from '../../src/rpc/handler.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, permissionDenied } from '../../src/rpc/errors.js';
import { challengeMessage, contractKeyCertificateMessage, partialInfo, publicationMessage } from '../../src/keys/wire.js';

export type Behaviour = 'honest' | 'wrong-point' | 'bad-proof' | 'unopenable' | 'wrong-identifier' | 'refuse' | 'silent';

export interface SimMember {
  nodeId: Uint8Array;
  nodeIdHex: string;
  identifier: string;
  identity: { secretKey: Uint8Array; publicKey: Uint8Array };
  transport: { secretKey: Uint8Array; publicKey: Uint8Array };
  derivation: KeyPackage;
  signing: KeyPackage;
  behaviour: Behaviour;
}

export interface RosterCert { epoch: number; rosterBytes: Uint8Array; signature: Uint8Array }

/** Request fields of ProvisionContractKey as the server sees them (proto-loader objects). */
export interface ProvisionRequest {
  contractId: Uint8Array; version: number; evidence?: string;
  dcap?: { quote: Uint8Array; collateralJson: string } | null;
  snp?: { report: Uint8Array; vcek: Uint8Array; askArkPem: string; crl: Uint8Array } | null;
  workerHpkeKey: Uint8Array; workerSigningKey: Uint8Array; nonce: Uint8Array;
  challengeExpiresAtMs: string; challengeIssuerNodeId: Uint8Array; challengeSignature: Uint8Array;
}

function runDkg(suite: Suite, ids: string[], threshold: number): KeyPackage[] {
  const params = { threshold, participants: ids.length };
  const r1 = ids.map((id) => dkgRound1(suite, id, params));
  const others = (id: string) => r1.map((r) => r.round1).filter((b) => b.identifier !== id);
  const outbox: DkgRound2Package[] = [];
  r1.forEach((r, i) => outbox.push(...dkgRound2(r.state, others(ids[i]!))));
  return r1.map((r, i) => dkgRound3(r.state, others(ids[i]!), outbox.filter((m) => m.recipient === ids[i])));
}

const hooks = { onError: (_m: string, err: unknown) => { process.stderr.write(`sim committee: ${String(err)}\n`); }, onDone: () => {} };

export class SimCommittee {
  readonly members: SimMember[];
  readonly certificates: RosterCert[] = [];
  roster!: Roster;
  /** Called on every ProvisionContractKey; a string is a refusal of the whole request (PERMISSION_DENIED). */
  checkProvision: (req: ProvisionRequest) => Promise<string | undefined> = async () => undefined;
  /** Rewrites responses before they are sent (attacks by the answering endpoint). */
  tamperCommittee: (res: Record<string, unknown>) => Record<string, unknown> = (r) => r;
  tamperContractKey: (res: Record<string, unknown>) => Record<string, unknown> = (r) => r;
  tamperPublish: (res: Record<string, unknown>) => Record<string, unknown> = (r) => r;
  tamperChallenge: (res: Record<string, unknown>) => Record<string, unknown> = (r) => r;
  readonly keys = new Map<string, { contractId: Uint8Array; version: number; generation: number; publicKey: Uint8Array; certificate: Uint8Array }>();
  readonly generation = 1;
  private readonly challenges = new Map<string, bigint>();
  private readonly provisioned = new Set<string>();
  private server?: grpc.Server;

  constructor(readonly n: number, readonly k: number) {
    const people = Array.from({ length: n }, () => {
      const identity = generateIdentityKey();
      const nodeId = nodeIdOf(identity.publicKey);
      return { identity, nodeId, transport: generateTransportKeyPair() };
    }).sort((a, b) => bytesToHex(a.nodeId).localeCompare(bytesToHex(b.nodeId)))
      .map((p, i) => ({ ...p, identifier: identifierForPosition(i) }));
    const ids = people.map((p) => p.identifier);
    const derivation = runDkg('derivation', ids, k);
    const signing = runDkg('signing', ids, k);
    this.members = people.map((p, i) => ({
      ...p, nodeIdHex: bytesToHex(p.nodeId), derivation: derivation[i]!, signing: signing[i]!, behaviour: 'honest' as Behaviour,
    }));
    this.addEpoch(1);
  }

  get committeeKey(): Uint8Array { return this.members[0]!.signing.groupPublicKey; }
  get masterPublicKey(): Uint8Array { return this.members[0]!.derivation.groupPublicKey; }

  /** BIP340 signature under CPK by k members with FROST (RFC 9591). */
  frostSign(message: Uint8Array): Uint8Array {
    const signers = this.members.slice(0, this.k).map((m) => m.signing);
    const rounds = signers.map((key) => signingCommit(key));
    const commitments = rounds.map((r) => r.commitments);
    const shares = signers.map((key, i) => signShare(key, rounds[i]!.nonces, commitments, message));
    return aggregateSignature(signers[0]!, commitments, message, shares);
  }

  /** Certifies a new roster epoch (same keys, as after a resharing) chained to the previous one. */
  addEpoch(epoch: number, opts: { sign?: (msg: Uint8Array) => Uint8Array; endpointSuffix?: string } = {}): RosterCert {
    const prev = this.certificates[this.certificates.length - 1];
    this.roster = {
      epoch, threshold: this.k, masterPublicKey: this.masterPublicKey, committeeKey: this.committeeKey,
      previousCertificateHash: prev ? certificateHash(prev.epoch, prev.rosterBytes, prev.signature) : new Uint8Array(32),
      members: this.members.map((m, i) => ({
        nodeId: m.nodeId, identityKey: m.identity.publicKey, transportKey: m.transport.publicKey,
        endpoint: `member-${i}.invalid:7000${opts.endpointSuffix ?? ''}`, stake: BigInt(1000 + i),
        shareIdentifier: Uint8Array.from(Buffer.from(m.identifier, 'hex')),
        derivationVerifyingShare: m.derivation.verifyingShares[m.identifier]!,
        signingVerifyingShare: m.signing.verifyingShares[m.identifier]!,
      })),
    };
    const rosterBytes = encodeRoster(this.roster);
    const signature = (opts.sign ?? ((msg) => this.frostSign(msg)))(rosterCertificateMessage(epoch, rosterBytes));
    const cert = { epoch, rosterBytes, signature };
    this.certificates.push(cert);
    return cert;
  }

  committeeResponse(): Record<string, unknown> {
    const r = this.roster;
    return {
      epoch: r.epoch, threshold: r.threshold, committeeKey: r.committeeKey, masterPublicKey: r.masterPublicKey,
      members: r.members.map((m) => ({
        nodeId: m.nodeId, endpoint: m.endpoint, identityKey: m.identityKey, transportKey: m.transportKey,
        stake: m.stake.toString(), shareIdentifier: m.shareIdentifier,
        derivationVerifyingShare: m.derivationVerifyingShare, signingVerifyingShare: m.signingVerifyingShare,
      })),
      certificates: this.certificates,
    };
  }

  /** The member's honest partial for (cid, v). */
  partial(member: SimMember, cid: Uint8Array, version: number): Partial {
    return evaluatePartial({ identifier: member.identifier, signingShare: member.derivation.signingShare }, cid, version);
  }

  /** The sealed partial a member with its behaviour answers (undefined: no partial). */
  async sealedPartial(member: SimMember, cid: Uint8Array, version: number, workerHpkeKey: Uint8Array) {
    let p = this.partial(member, cid, version);
    switch (member.behaviour) {
      case 'refuse': case 'silent': return undefined;
      case 'wrong-point': p = { ...p, point: this.partial(member, cid, version + 1).point }; break;
      case 'bad-proof': { const proof = Uint8Array.from(p.proof); proof[40] = proof[40]! ^ 1; p = { ...p, proof }; break; }
      case 'wrong-identifier': p = { ...p, identifier: this.members.find((m) => m !== member)!.identifier }; break;
      default: break;
    }
    const target = member.behaviour === 'unopenable' ? generateTransportKeyPair().publicKey : workerHpkeKey;
    const { enc, ciphertext } = await hpkeSeal(target, partialInfo(cid, version, member.nodeId), utf8(JSON.stringify(encodePartial(p))));
    return { nodeId: member.nodeId, shareIdentifier: Uint8Array.from(Buffer.from(member.identifier, 'hex')), sealed: concatBytes(enc, ciphertext) };
  }

  private keyId(cid: Uint8Array, version: number) { return `${bytesToHex(cid)}/${version}`; }

  /** Stores a certified contract key as if a worker had published it. */
  certifyKey(cid: Uint8Array, version: number, publicKey: Uint8Array): void {
    const certificate = this.frostSign(contractKeyCertificateMessage(cid, version, this.generation, publicKey));
    this.keys.set(this.keyId(cid, version), { contractId: cid, version, generation: this.generation, publicKey, certificate });
  }

  private service() {
    return {
      GetCommittee: async () => this.tamperCommittee(this.committeeResponse()),
      GetContractKey: async (req: { contractId: Uint8Array; version: number }) => {
        const cid = plain(req.contractId);
        let rec;
        if (req.version === 0) {
          rec = [...this.keys.values()].filter((r) => equalBytes(r.contractId, cid)).sort((a, b) => b.version - a.version)[0];
        } else {
          rec = this.keys.get(this.keyId(cid, req.version));
        }
        if (!rec) throw notFound('no published key for this contract');
        return this.tamperContractKey({ ...rec });
      },
    };
  }

  private workerService() {
    const issuer = this.members[0]!;
    return {
      GetChallenge: async () => {
        const nonce = randomBytes(32);
        const expiresAtMs = BigInt(Date.now() + 300_000);
        this.challenges.set(bytesToHex(nonce), expiresAtMs);
        const signature = signTagged(issuer.identity.secretKey, 'challenge', challengeMessage(nonce, expiresAtMs, issuer.nodeId));
        return this.tamperChallenge({ nonce, expiresAtMs: expiresAtMs.toString(), issuerNodeId: issuer.nodeId, signature });
      },
      ProvisionContractKey: async (req: ProvisionRequest) => {
        const nonceHex = bytesToHex(plain(req.nonce));
        const expires = this.challenges.get(nonceHex);
        if (expires === undefined) throw failedPrecondition('unknown or already used challenge');
        this.challenges.delete(nonceHex);
        if (req.challengeExpiresAtMs !== expires.toString()) throw invalidArgument('challenge expiry does not match');
        if (!verifyTagged(issuer.identity.publicKey, 'challenge', challengeMessage(plain(req.nonce), expires, issuer.nodeId), plain(req.challengeSignature))) {
          throw permissionDenied('challenge signature does not verify');
        }
        const refusal = await this.checkProvision(req);
        if (refusal) throw permissionDenied(refusal);
        const cid = plain(req.contractId);
        const partials = [];
        const refusals: string[] = [];
        for (const m of this.members) {
          const sp = await this.sealedPartial(m, cid, req.version, plain(req.workerHpkeKey));
          if (sp) partials.push(sp);
          else refusals.push(m.behaviour === 'refuse' ? `${m.nodeIdHex}: release policy refused the quote` : `${m.nodeIdHex}: did not answer`);
        }
        this.provisioned.add(`${bytesToHex(plain(req.workerSigningKey))}/${this.keyId(cid, req.version)}`);
        return { generation: this.generation, partials, refusals };
      },
      PublishContractKey: async (req: { contractId: Uint8Array; version: number; publicKey: Uint8Array; workerSigningKey: Uint8Array; signature: Uint8Array }) => {
        const cid = plain(req.contractId);
        const pk = plain(req.publicKey);
        if (!verifyTagged(plain(req.workerSigningKey), 'worker-publication', publicationMessage(cid, req.version, pk), plain(req.signature))) {
          throw permissionDenied('worker signature does not verify');
        }
        if (!this.provisioned.has(`${bytesToHex(plain(req.workerSigningKey))}/${this.keyId(cid, req.version)}`)) {
          throw permissionDenied('this worker key was not provisioned for this contract');
        }
        const existing = this.keys.get(this.keyId(cid, req.version));
        if (existing && !equalBytes(existing.publicKey, pk)) throw alreadyExists('conflicting publication');
        const certificate = existing?.certificate ?? this.frostSign(contractKeyCertificateMessage(cid, req.version, this.generation, pk));
        this.keys.set(this.keyId(cid, req.version), { contractId: cid, version: req.version, generation: this.generation, publicKey: pk, certificate });
        return this.tamperPublish({ generation: this.generation, certificate });
      },
    };
  }

  /** Starts the gRPC server on 127.0.0.1:0 (plaintext unless `credentials` are given); returns host:port. */
  async listen(credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<string> {
    const server = new grpc.Server();
    const wrap = (impl: Record<string, (req: never) => Promise<unknown>>, prefix: string) => Object.fromEntries(
      Object.entries(impl).map(([name, f]) => [name, unary(`${prefix}/${name}`, f as never, hooks)]));
    server.addService(serviceDefinition('PublicService'), wrap(this.service(), 'PublicService'));
    server.addService(serviceDefinition('WorkerService'), wrap(this.workerService(), 'WorkerService'));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
    this.server = server;
    return `127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
  }
}
