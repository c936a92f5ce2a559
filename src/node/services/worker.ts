// WorkerService: challenges, attested provisioning (fanned out to every member) and key publication.
import type { CallContext } from '../../rpc/handler.js';
import type { ProvisionRequest, PublishRequest } from '../contract-keys.js';
import type { Guards } from './guard.js';

export function workerService(guards: Guards) {
  return {
    async GetChallenge(_req: object, ctx: CallContext) {
      guards.rateLimit(ctx);
      return guards.unsealed().contractKeys.challenge();
    },
    async ProvisionContractKey(req: ProvisionRequest, ctx: CallContext) {
      guards.rateLimit(ctx);
      return guards.unsealed().contractKeys.provision(req);
    },
    async PublishContractKey(req: PublishRequest, ctx: CallContext) {
      guards.rateLimit(ctx);
      return guards.unsealed().contractKeys.publish(req);
    },
  };
}
