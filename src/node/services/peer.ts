// PeerService: calls between members, each signed by the caller's identity key.
import { invalidArgument } from '../../rpc/errors.js';
import type { CallContext } from '../../rpc/handler.js';
import type { SignedSnapshotMsg } from '../../committee/snapshot.js';
import type { Guards } from './guard.js';
import type { ContractAlarmWire, ProvisionRequest } from '../contract-keys.js';
import type { ContractKeyRow } from '../../store/contract-store.js';

interface EpochReq { epoch: number }
interface CommitReq { epoch: number; sessionId: Uint8Array; message: Uint8Array; purpose: string; publication: Record<string, unknown> | null }
interface SignReq extends CommitReq { commitments: Uint8Array[] }

export function peerService(guards: Guards) {
  return {
    async OfferSnapshot(req: { snapshot: SignedSnapshotMsg | null }, ctx: CallContext) {
      const node = guards.unsealed();
      const caller = guards.peer(req, ctx);
      if (!req.snapshot || req.snapshot.snapshot.length === 0) throw invalidArgument('snapshot is required');
      // Governance signatures, caps and the caller (a candidate of it or a current member) are checked
      // before anything of the candidacies is decoded; the election runs in a worker thread.
      const r = await node.genesis.accept(req.snapshot, 'peer', false, caller);
      return { snapshotHash: r.snapshotHash };
    },
    async GetCeremonyMessage(req: { ceremony: string; phase: string }, ctx: CallContext) {
      const node = guards.unsealed();
      const caller = guards.peer(req, ctx);
      if (!req.ceremony || req.ceremony.length > 64 || !req.phase || req.phase.length > 64) throw invalidArgument('ceremony and phase must be 1 to 64 characters');
      return node.genesis.serveCeremonyMessage(req, caller);
    },
    async FrostCommit(req: CommitReq, ctx: CallContext) {
      const node = guards.unsealed();
      const caller = guards.peer(req, ctx);
      return { commitments: node.genesis.frostCommit(req.epoch, req.sessionId, req.message, req.purpose, caller, req.publication) };
    },
    async FrostSign(req: SignReq, ctx: CallContext) {
      const node = guards.unsealed();
      const caller = guards.peer(req, ctx);
      if (req.commitments.length === 0 || req.commitments.length > 255) throw invalidArgument('commitments must list 1 to 255 signers');
      return { signatureShare: node.genesis.frostSign(req.epoch, req.sessionId, req.message, req.commitments, req.purpose, caller, req.publication) };
    },
    async GetRosterCertificate(req: EpochReq, ctx: CallContext) {
      const node = guards.unsealed();
      return node.genesis.serveCertificate(req.epoch, guards.peer(req, ctx));
    },
    async ProvidePartial(req: ProvisionRequest, ctx: CallContext) {
      const node = guards.unsealed();
      guards.member(node, guards.peer(req, ctx));
      return node.contractKeys.providePartial(req);
    },
    async StoreContractKey(req: ContractKeyRow, ctx: CallContext) {
      const node = guards.unsealed();
      guards.member(node, guards.peer(req, ctx));
      await node.contractKeys.storeCertified(req);
      return {};
    },
    async GetProvisionReceipt(req: { contractId: Uint8Array; version: number; workerSigningKey: Uint8Array }, ctx: CallContext) {
      const node = guards.unsealed();
      guards.member(node, guards.peer(req, ctx));
      return node.contractKeys.provisionReceipt(req);
    },
    async RaiseContractAlarm(req: ContractAlarmWire, ctx: CallContext) {
      const node = guards.unsealed();
      guards.member(node, guards.peer(req, ctx));
      node.contractKeys.acceptAlarm(req);
      return {};
    },
  };
}
