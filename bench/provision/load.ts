// A closed-loop unary load generator over one grpc-js channel, and the bare baseline it is compared
// with: a grpc-js server whose single unary method answers fixed bytes. Both the baseline and a
// node's PublicService.GetContractKey are driven by the same raw client (bytes in, bytes out), so
// the difference is the server: proto decoding, the handler, the rate limiter, SQLite and metrics.
import * as grpc from '@grpc/grpc-js';
import { nowMs } from './timing.js';

const identity = (b: Buffer) => b;

export const ECHO_PATH = '/gatekeeper.bench.Echo/Echo';

/** Starts the bare unary server on 127.0.0.1:0; it answers every call with `answer`. */
export async function startEchoServer(answer: Buffer): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = new grpc.Server();
  const method: grpc.MethodDefinition<Buffer, Buffer> = {
    path: ECHO_PATH, requestStream: false, responseStream: false,
    requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
  };
  server.addService({ Echo: method } as grpc.ServiceDefinition, {
    Echo: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, answer),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    endpoint: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A raw unary caller of one method: sends `request` bytes, resolves with the answer bytes. */
export class RawUnary {
  private readonly client: grpc.Client;
  constructor(endpoint: string, private readonly path: string, private readonly request: Buffer) {
    this.client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  }
  call(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(this.path, identity, identity, this.request, new grpc.Metadata(), { deadline: Date.now() + 10_000 },
        (err: grpc.ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!)));
    });
  }
  close(): void { this.client.close(); }
}

export interface LoadResult { ops: number; errors: number; seconds: number; rate: number; firstError?: string }

/** `concurrency` calls in flight, each lane calling again as soon as its call returns, for durationMs. */
export async function closedLoop(call: () => Promise<unknown>, concurrency: number, durationMs: number): Promise<LoadResult> {
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = nowMs();
  const end = t0 + durationMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (nowMs() < end) {
      try {
        await call();
        ops++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  }));
  const seconds = (nowMs() - t0) / 1000;
  return { ops, errors, seconds, rate: ops / seconds, firstError };
}
