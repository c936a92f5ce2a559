// PublicService: what any client may ask. Public data only.
import { decodeRoster } from '../../committee/roster.js';
import { failedPrecondition } from '../../rpc/errors.js';
import type { CallContext } from '../../rpc/handler.js';
import type { Guards } from './guard.js';

export function publicService(guards: Guards) {
  return {
    async GetCommittee(_req: object, ctx: CallContext) {
      guards.rateLimit(ctx);
      const node = guards.unsealed();
      const certs = node.ceremonies.certificates();
      const latest = certs[certs.length - 1];
      if (!latest) throw failedPrecondition('no committee is active yet: the genesis ceremony has not completed');
      const roster = decodeRoster(latest.rosterBytes);
      return {
        epoch: roster.epoch,
        threshold: roster.threshold,
        committeeKey: roster.committeeKey,
        masterPublicKey: roster.masterPublicKey,
        members: roster.members.map((m) => ({
          nodeId: m.nodeId, endpoint: m.endpoint, identityKey: m.identityKey, transportKey: m.transportKey,
          stake: m.stake.toString(), shareIdentifier: m.shareIdentifier,
          derivationVerifyingShare: m.derivationVerifyingShare, signingVerifyingShare: m.signingVerifyingShare,
        })),
        certificates: certs.map((c) => ({ epoch: c.epoch, rosterBytes: c.rosterBytes, signature: c.signature })),
      };
    },
    async GetContractKey(req: { contractId: Uint8Array; version: number }, ctx: CallContext) {
      guards.rateLimit(ctx);
      const k = guards.unsealed().contractKeys.get(req.contractId, req.version);
      return { contractId: k.contractId, version: k.version, generation: k.generation, publicKey: k.publicKey, certificate: k.certificate,
        currentVersion: k.currentVersion };
    },
  };
}
