// WorkerService: challenges, attested provisioning (fanned out to every member) and key publication.
import type { CallContext } from '../../rpc/handler.js';
import type { ProvisionRequest, PublishRequest } from '../contract-keys.js';
import type { Guards } from './guard.js';

/** What is left of the caller's gRPC deadline (ms), or undefined when it set none. */
export function remainingBudgetMs(ctx: CallContext, now = Date.now()): number | undefined {
  const d = ctx.call.getDeadline();
  const at = d instanceof Date ? d.getTime() : Number(d);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export function workerService(guards: Guards) {
  return {
    async GetChallenge(_req: object, ctx: CallContext) {
      guards.rateLimit(ctx);
      return guards.unsealed().contractKeys.challenge();
    },
    async ProvisionContractKey(req: ProvisionRequest, ctx: CallContext) {
      guards.rateLimit(ctx);
      return guards.unsealed().contractKeys.provision(req, remainingBudgetMs(ctx));
    },
    async PublishContractKey(req: PublishRequest, ctx: CallContext) {
      guards.rateLimit(ctx);
      return guards.unsealed().contractKeys.publish(req, remainingBudgetMs(ctx));
    },
  };
}
