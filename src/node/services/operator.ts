// OperatorService: status and unseal (answered while sealed), then signed operator actions, each audited.
import { bytesToHex } from '@noble/hashes/utils.js';
import { signTagged } from '../../crypto/identity.js';
import { candidacyMessage } from '../../committee/candidacy.js';
import { nextStepFor } from '../../committee/genesis-state.js';
import { decodePublicKeyPackage } from '../../crypto/frost.js';
import { expectU64, failedPrecondition, invalidArgument, notFound } from '../../rpc/errors.js';
import type { CallContext } from '../../rpc/handler.js';
import type { SignedSnapshotMsg } from '../../committee/snapshot.js';
import type { Guards } from './guard.js';
import type { NodeRuntime } from '../node.js';
import { ceremonyStatus } from '../ceremony-status.js';

interface UnsealReq { share: string; reset: boolean }
interface CandidacyReq { epoch: number; selfStake: string; endpoint: string }
interface GenesisReq { snapshot: SignedSnapshotMsg | null; forward: boolean }
interface AbortReq { epoch: number; reason: string }
interface AuditReq { afterSeq: string; limit: number }
interface ContractVersionReq { contractId: Uint8Array; version: number; signatures: { key: Uint8Array; signature: Uint8Array }[] }

function contractIdOf(req: ContractVersionReq): Uint8Array {
  if (!(req.contractId instanceof Uint8Array) || req.contractId.length === 0 || req.contractId.length > 255) throw invalidArgument('contract_id must be 1 to 255 bytes');
  return new Uint8Array(req.contractId);
}

function versionAnswer(c: { currentVersion: number; alarm: string | undefined }) {
  return { currentVersion: c.currentVersion, alarm: c.alarm ?? '' };
}

export function operatorService(rt: NodeRuntime, guards: Guards) {
  const submitSnapshot = async (req: GenesisReq, ctx: CallContext) => {
    const node = guards.unsealed();
    const actor = guards.operator(req, ctx);
    if (!req.snapshot || req.snapshot.snapshot.length === 0) throw invalidArgument('snapshot is required');
    const r = await node.genesis.accept(req.snapshot, actor, req.forward);
    return { epoch: r.epoch, snapshotHash: r.snapshotHash, elected: r.elected, roster: r.roster, forwardErrors: r.forwardErrors };
  };
  return {
    async Status() {
      const pub = rt.public;
      const node = rt.context;
      // Ceremonies, certificates and the committee's public keys sit in unencrypted columns, so a
      // sealed member still says which committee it belongs to (never anything secret).
      const ceremonies = rt.ceremonyView;
      const latest = ceremonies.latest();
      const certs = ceremonies.certificates();
      const selfId = bytesToHex(pub?.nodeId ?? new Uint8Array());
      // The serving committee is the newest certified roster with this node's shares, not the newest ceremony.
      const active = ceremonies.latestCertifiedWithShares();
      const member = !!active && active.roster.some((m) => m.nodeId === selfId);
      const epoch = certs.length ? certs[certs.length - 1]!.epoch : 0;
      let nextStep: string;
      if (!pub) nextStep = 'initialize this node: gatekeeper init --config FILE';
      else if (!node) {
        nextStep = `unseal this node: ${rt.unsealProgress} of ${pub.unsealThreshold} shares given (gatekeeper unseal)`
          + (member ? `; it is a member of the committee of epoch ${epoch} and serves nothing until unsealed` : '');
      } else nextStep = nextStepFor(latest?.state, member);
      let committeeKey: Uint8Array = new Uint8Array();
      if (active) {
        const row = ceremonies.keyShares(active.epoch);
        if (row) committeeKey = decodePublicKeyPackage((JSON.parse(row.publicJson) as { signing: unknown }).signing).groupPublicKey;
      }
      return {
        initialized: !!pub,
        sealed: !node,
        unsealProgress: rt.unsealProgress,
        unsealThreshold: pub?.unsealThreshold ?? 0,
        nodeId: pub?.nodeId ?? new Uint8Array(),
        identityKey: pub?.identityKey ?? new Uint8Array(),
        transportKey: node ? pub!.transportKey : new Uint8Array(),
        epoch,
        ceremonyState: latest?.state ?? '',
        ceremonyEpoch: latest?.epoch ?? 0,
        ceremonyError: latest?.error ?? '',
        member,
        nextStep,
        committeeKey,
        unsealFailures: rt.unsealFailures,
        attestationRootSha256: rt.attestationRoot.sha256,
        developmentAttestationRoot: rt.attestationRoot.development,
        snpArkSha256: rt.snpArks.sha256,
        developmentSnpArk: rt.snpArks.development,
      };
    },

    async Unseal(req: UnsealReq, ctx: CallContext) {
      try {
        guards.unsealRateLimit(ctx);
      } catch (err) {
        rt.noteUnsealFailure('rate-limited');
        throw err;
      }
      if (req.reset) {
        // Only an operator may throw away the shares other operators gave (signed call or mTLS certificate).
        rt.resetUnseal(guards.operator(req, ctx));
      } else {
        if (typeof req.share !== 'string' || req.share.length === 0 || req.share.length > 1024) {
          rt.noteUnsealFailure('malformed');
          throw invalidArgument('share is required (as printed by gatekeeper init)');
        }
        await rt.unseal(req.share);
      }
      return { sealed: !rt.context, progress: rt.unsealProgress, threshold: rt.public?.unsealThreshold ?? 0 };
    },

    async GetCandidacy(req: CandidacyReq, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      if (!Number.isInteger(req.epoch) || req.epoch < 1) throw invalidArgument('epoch must be at least 1');
      const selfStake = expectU64(req.selfStake, 'self_stake');
      const endpoint = req.endpoint || node.config.advertise;
      if (endpoint.length > 255) throw invalidArgument('endpoint is longer than 255 characters');
      const fields = { identityKey: node.self.identityKey, endpoint, transportKey: node.self.transportKey, selfStake, epoch: req.epoch };
      const signature = signTagged(node.keys.identitySecret, 'candidacy', candidacyMessage(fields));
      node.audit.append(actor, 'candidacy.signed', { epoch: req.epoch, selfStake: selfStake.toString(), endpoint });
      return { identityKey: fields.identityKey, endpoint, transportKey: fields.transportKey, selfStake: selfStake.toString(), epoch: req.epoch, signature };
    },

    async SubmitGenesis(req: GenesisReq, ctx: CallContext) {
      return submitSnapshot(req, ctx);
    },

    // One intake for the genesis snapshot and later election rounds (src/node/genesis.ts accept()).
    async SubmitElection(req: GenesisReq, ctx: CallContext) {
      return submitSnapshot(req, ctx);
    },

    // Read-only view of one ceremony (src/node/ceremony-status.ts); 0 = the newest.
    async CeremonyStatus(req: { epoch: number }, ctx: CallContext) {
      const node = guards.unsealed();
      guards.operator(req, ctx);
      if (!Number.isInteger(req.epoch) || req.epoch < 0) throw invalidArgument('epoch must be 0 (the newest) or an epoch number');
      return ceremonyStatus({
        ceremonies: node.ceremonies, engine: node.genesis.engine.store, now: () => node.now(),
        selfNodeId: bytesToHex(node.self.nodeId), selfIdentityKey: bytesToHex(node.self.identityKey),
        engineMissing: (c) => node.genesis.engine.missing(c),
      }, req.epoch);
    },

    // Proactive refresh (issue 11 item 6): a hand-off to the same roster at `epoch`; send to every member. Idempotent.
    async RefreshShares(req: { epoch: number }, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      const r = node.genesis.rounds.refresh(req.epoch, actor);
      return { epoch: r.epoch, snapshotHash: r.snapshotHash, elected: r.elected, roster: r.roster, forwardErrors: r.forwardErrors };
    },

    async AbortCeremony(req: AbortReq, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      const c = node.ceremonies.get(req.epoch);
      if (!c) throw notFound(`no ceremony for epoch ${req.epoch}`);
      if (c.state === 'COMPLETE') throw failedPrecondition('that ceremony is complete; nothing to abort');
      const reason = (req.reason || 'aborted by an operator').slice(0, 500);
      return { state: node.genesis.abort(c, reason, actor).state };
    },

    async SetReleasePolicy(req: { policyJson: Uint8Array; signatures: { key: Uint8Array; signature: Uint8Array }[] }, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      if (req.policyJson.length === 0) throw invalidArgument('policy_json is required');
      const p = node.contractKeys.setPolicy(new Uint8Array(req.policyJson), req.signatures, actor);
      return { id: p.id, serial: p.serial };
    },

    async RegisterContract(req: { contractId: Uint8Array; namespace: string; policyId: string }, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      node.contractKeys.registerContract(req.contractId, req.namespace, req.policyId, actor);
      return {};
    },

    async RevokeWorker(req: { workerSigningKey: Uint8Array; measurement: Uint8Array; reason: string }, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      node.contractKeys.revoke(new Uint8Array(req.workerSigningKey), new Uint8Array(req.measurement), req.reason, actor);
      return {};
    },

    // Contract key versions (docs/provisioning.md §7): governance-signed, idempotent, sent to every member.
    async RotateContractKey(req: ContractVersionReq, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      return versionAnswer(node.contractKeys.versions.rotate(contractIdOf(req), req.version, req.signatures, actor));
    },

    async RetireContractKeyVersion(req: ContractVersionReq, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      return versionAnswer(node.contractKeys.versions.retire(contractIdOf(req), req.version, req.signatures, actor));
    },

    async ResolveContractAlarm(req: ContractVersionReq, ctx: CallContext) {
      const node = guards.unsealed();
      const actor = guards.operator(req, ctx);
      return versionAnswer(node.contractKeys.versions.resolveAlarm(contractIdOf(req), req.version, req.signatures, actor));
    },

    async ReadAudit(req: AuditReq, ctx: CallContext) {
      const node = guards.unsealed();
      guards.operator(req, ctx);
      const after = Number(expectU64(req.afterSeq || '0', 'after_seq'));
      const limit = req.limit === 0 ? 100 : Math.min(req.limit, 1000);
      const entries = node.audit.read(after, limit).map((e) => ({
        seq: String(e.seq), timeMs: String(e.timeMs), actor: e.actor, action: e.action, detailJson: e.detailJson,
        prevHash: e.prevHash, hash: e.hash,
      }));
      return { entries };
    },
  };
}
