// Wraps async unary handlers for grpc-js: a thrown RpcError becomes the call's status and message
// (bounded to MAX_STATUS_MESSAGE_BYTES); anything else is logged under an error id and answered INTERNAL
// with a fixed text and that id, never its own text (it may hold details we do not vet, or secrets).
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { boundText, invalidArgument, RpcError } from './errors.js';
import { malformedReason } from './proto.js';

export interface CallContext {
  method: string;            // full path, e.g. /gatekeeper.v1.OperatorService/Status
  metadata: grpc.Metadata;
  peer: string;
  call: grpc.ServerUnaryCall<unknown, unknown>;
}

export type UnaryHandler<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

export interface HandlerHooks {
  /** A handler threw something other than an RpcError; `errorId` is the one sent to the caller. */
  onError(method: string, err: unknown, errorId: string): void;
  onDone(method: string, code: grpc.status, seconds: number): void;
  /**
   * Runs before any answer leaves the node (the node makes what it wrote durable here: the high-water
   * mark, docs/backup.md). If it throws, the call is answered UNAVAILABLE instead of its result.
   */
  beforeReply?(method: string): void;
}

/** The fixed text of an INTERNAL answer; the id finds the log line. */
export function internalMessage(errorId: string): string {
  return `internal error (error id ${errorId}); the node log has the details`;
}

export function unary<Req, Res>(method: string, handler: UnaryHandler<Req, Res>, hooks: HandlerHooks): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const done = (code: grpc.status) => hooks.onDone(method, code, Number(process.hrtime.bigint() - started) / 1e9);
    const ctx: CallContext = {
      method, metadata: call.metadata, call: call as grpc.ServerUnaryCall<unknown, unknown>,
      get peer() { return call.getPeer(); },
    };
    const malformed = malformedReason(call.request as object);
    const run = malformed === undefined
      ? Promise.resolve().then(() => handler(call.request, ctx))
      : Promise.reject(invalidArgument(`the request does not decode: ${malformed}`));
    const fail = (err: unknown) => {
      if (err instanceof RpcError) {
        done(err.code);
        callback({ code: err.code, details: boundText(err.message) });
        return;
      }
      const errorId = randomBytes(8).toString('hex');
      hooks.onError(method, err, errorId);
      done(grpc.status.INTERNAL);
      callback({ code: grpc.status.INTERNAL, details: internalMessage(errorId) });
    };
    const durable = (): RpcError | undefined => {
      try {
        hooks.beforeReply?.(method);
        return undefined;
      } catch (err) {
        const errorId = randomBytes(8).toString('hex');
        hooks.onError(method, err, errorId);
        return new RpcError(grpc.status.UNAVAILABLE, `the node could not make its state durable; nothing was answered (error id ${errorId})`);
      }
    };
    run.then(
      (res) => {
        const notDurable = durable();
        if (notDurable) { fail(notDurable); return; }
        done(grpc.status.OK);
        callback(null, res);
      },
      (err: unknown) => { fail(durable() ?? err); },
    );
  };
}
