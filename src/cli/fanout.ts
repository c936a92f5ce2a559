// One operator call sent to every committee member: the shared plumbing of the commands that change
// committee state (policy set, contract register/rotate/retire, worker revoke, genesis, and later the
// ceremony commands). Each member is called on its own (in parallel, each call signed afresh, since a
// member refuses a replayed nonce), and the outcome is one row per member. Exit 0 only if every member
// applied the action; the actions are idempotent on the nodes, so an operator re-runs the same command
// after fixing an unreachable member.
import type { ServiceName } from '../rpc/proto.js';
import { RpcError } from '../rpc/errors.js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { clientFor, describeRpcError } from './client-options.js';
import { loadOperatorKey } from './operator-key.js';

export interface MemberResult<Res> {
  endpoint: string;
  ok: boolean;
  /** The member's answer when ok. */
  answer?: Res;
  /** The gRPC status name and a one-sentence message when not ok. */
  code?: string;
  error?: string;
}

export interface FanOutOptions {
  service?: ServiceName;
  /** The operator key file (or GATEKEEPER_OPERATOR_KEY); omitted with mTLS operator certificates. */
  operatorKeyFile?: string;
  /** Sign with the operator key (default true unless --tls-cert is given). */
  sign?: boolean;
  timeoutMs?: number;
}

/**
 * Sends `method(request)` to every endpoint; `values` carries the TLS options (--tls-ca, --tls-cert,
 * --tls-key). A refusal or an unreachable member is a row, never an exception; bad usage (an
 * unreadable key or CA file) throws UsageError before anything is sent.
 */
export async function fanOut<Res>(endpoints: string[], method: string, request: Record<string, unknown> | ((endpoint: string) => Record<string, unknown>),
  values: Record<string, unknown>, opts: FanOutOptions = {}): Promise<MemberResult<Res>[]> {
  const service = opts.service ?? 'OperatorService';
  const sign = opts.sign ?? values['tls-cert'] === undefined;
  const secretKey = sign ? loadOperatorKey(opts.operatorKeyFile ?? values['operator-key'] as string | undefined) : undefined;
  const clients = endpoints.map((e) => clientFor(e, values));
  try {
    return await Promise.all(clients.map(async (client, i): Promise<MemberResult<Res>> => {
      const endpoint = endpoints[i]!;
      const req = typeof request === 'function' ? request(endpoint) : request;
      try {
        const answer = await client.call<Res>(service, method, req, {
          timeoutMs: opts.timeoutMs ?? 15_000, ...(secretKey ? { sign: { role: 'operator' as const, secretKey } } : {}),
        });
        return { endpoint, ok: true, answer };
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        return { endpoint, ok: false, code: grpcStatus[err.code] ?? String(err.code), error: describeRpcError(endpoint, err) };
      }
    }));
  } finally {
    clients.forEach((c) => c.close());
    secretKey?.fill(0);
  }
}

/**
 * Prints the per-member table (or, with --json, one object {ok, members: [...]}) and returns the
 * exit code: 0 if every member applied it, 1 otherwise. `describe` turns an answer into a short cell.
 */
export function reportFanOut<Res>(command: string, results: MemberResult<Res>[], json: boolean, describe: (answer: Res) => string | Record<string, unknown>): number {
  const ok = results.every((r) => r.ok);
  if (json) {
    process.stdout.write(JSON.stringify({
      ok, members: results.map((r) => (r.ok ? { endpoint: r.endpoint, ok: true, result: describe(r.answer as Res) } : { endpoint: r.endpoint, ok: false, code: r.code, error: r.error })),
    }) + '\n');
  } else {
    const width = Math.max(8, ...results.map((r) => r.endpoint.length));
    process.stdout.write(`${'MEMBER'.padEnd(width)}  RESULT\n`);
    for (const r of results) {
      const cell = r.ok ? `ok     ${formatCell(describe(r.answer as Res))}` : `FAILED ${r.code}: ${r.error}`;
      process.stdout.write(`${r.endpoint.padEnd(width)}  ${cell}\n`);
    }
    const failed = results.filter((r) => !r.ok);
    for (const r of failed) process.stderr.write(`gatekeeper ${command}: ${r.endpoint}: ${r.error}\n`);
    if (failed.length > 0) process.stderr.write(`gatekeeper ${command}: ${failed.length} of ${results.length} members did not apply it; fix them and run the same command again (it is safe to repeat)\n`);
  }
  return ok ? 0 : 1;
}

function formatCell(v: string | Record<string, unknown>): string {
  return typeof v === 'string' ? v : Object.entries(v).map(([k, x]) => `${k}=${String(x)}`).join(' ');
}
