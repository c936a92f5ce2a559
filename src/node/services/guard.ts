// Per-call guards shared by the services: sealed state, operator and peer authentication, rate limits.
import { createHash } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { verifyCall, type NonceRegistry } from '../../rpc/auth.js';
import { failedPrecondition, permissionDenied, resourceExhausted } from '../../rpc/errors.js';
import { rawBytes } from '../../rpc/proto.js';
import type { CallContext } from '../../rpc/handler.js';
import type { NodeConfig } from '../config.js';
import type { NodeContext } from '../context.js';

export interface Guards {
  /** The unsealed node context, or FAILED_PRECONDITION while sealed. */
  unsealed(): NodeContext;
  /** Authenticates an operator call; returns a short actor name for the audit log. */
  operator(req: object, ctx: CallContext): string;
  /** Authenticates a peer call; returns the caller's x-only identity key. */
  peer(req: object, ctx: CallContext): Uint8Array;
  /** Public calls: a token bucket per client address. */
  rateLimit(ctx: CallContext): void;
  /** Refuses a caller that is not a member of the active committee. */
  member(node: NodeContext, callerKey: Uint8Array): void;
}

export const SEALED_MESSAGE = 'the node is sealed: unseal it with `gatekeeper unseal` (see `gatekeeper status`)';

export function makeGuards(config: NodeConfig, nonces: () => NonceRegistry, context: () => NodeContext | undefined): Guards {
  const operatorKeys = new Set(config.operatorKeys);
  const operatorCerts = new Set(config.operatorCertFingerprints);
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    unsealed() {
      const c = context();
      if (!c) throw failedPrecondition(SEALED_MESSAGE);
      return c;
    },
    operator(req, ctx) {
      const cert = ctx.call.getAuthContext?.()?.sslPeerCertificate;
      if (cert?.raw) {
        const fp = createHash('sha256').update(cert.raw).digest('hex');
        if (operatorCerts.has(fp)) return `operator-cert:${fp.slice(0, 16)}`;
      }
      const key = verifyCall('operator', ctx.metadata, ctx.method, rawBytes(req), nonces(), config.clockSkewMs);
      const hex = bytesToHex(key);
      if (!operatorKeys.has(hex)) throw permissionDenied('this key is not an operator key of this node');
      return `operator:${hex.slice(0, 16)}`;
    },
    peer(req, ctx) {
      return verifyCall('peer', ctx.metadata, ctx.method, rawBytes(req), nonces(), config.clockSkewMs);
    },
    member(node, callerKey) {
      const c = node.genesis.activeCommittee();
      const hex = bytesToHex(callerKey);
      if (!c || !c.roster.some((m) => m.identityKey === hex)) throw permissionDenied('the caller is not a member of the active committee');
    },
    rateLimit(ctx) {
      const rate = config.publicRateLimitPerSecond;
      const peer = ctx.peer;
      const addr = peer.slice(0, Math.max(0, peer.lastIndexOf(':')));
      const now = Date.now();
      const b = buckets.get(addr) ?? { tokens: rate, at: now };
      b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
      if (b.tokens < 1) throw resourceExhausted('rate limit exceeded for this client; retry later');
      b.tokens -= 1;
      buckets.set(addr, b);
      if (buckets.size > 10_000) buckets.clear();
    },
  };
}
