// Wraps async unary handlers for grpc-js: a thrown RpcError becomes the call's status and message;
// anything else is logged and answered INTERNAL without its text (it may hold details we do not vet).
import * as grpc from '@grpc/grpc-js';
import { invalidArgument, RpcError } from './errors.js';
import { malformedReason } from './proto.js';

export interface CallContext {
  method: string;            // full path, e.g. /gatekeeper.v1.OperatorService/Status
  metadata: grpc.Metadata;
  peer: string;
  call: grpc.ServerUnaryCall<unknown, unknown>;
}

export type UnaryHandler<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

export interface HandlerHooks {
  onError(method: string, err: unknown): void;
  onDone(method: string, code: grpc.status, seconds: number): void;
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
    const run = malformed === undefined ? handler(call.request, ctx) : Promise.reject(invalidArgument(`the request does not decode: ${malformed}`));
    run.then(
      (res) => { done(grpc.status.OK); callback(null, res); },
      (err: unknown) => {
        if (err instanceof RpcError) {
          done(err.code);
          callback({ code: err.code, details: err.message });
          return;
        }
        hooks.onError(method, err);
        done(grpc.status.INTERNAL);
        callback({ code: grpc.status.INTERNAL, details: 'internal error; the node log has the details' });
      },
    );
  };
}
