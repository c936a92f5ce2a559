// A byte-level PeerService proxy in front of one member, for tests that make that member misbehave from
// outside its process (no switch in production code). Requests, metadata and signatures pass through
// untouched; a rewrite hook may replace a response.
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/rpc/proto.js';

export type Rewrite = (method: string, request: Buffer, response: Buffer) => Promise<Buffer>;

export class PeerProxy {
  private readonly server = new grpc.Server();
  private target = '';
  private client: grpc.Client | undefined;
  rewrite: Rewrite | undefined;
  port = 0;

  async listen(): Promise<string> {
    const def = serviceDefinition('PeerService');
    const raw: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [name, m] of Object.entries(def)) {
      raw[name] = { ...m, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b } as grpc.MethodDefinition<Buffer, Buffer>;
      impl[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (!this.client) { cb({ code: grpc.status.UNAVAILABLE, details: 'proxy target not set' }); return; }
        this.client.makeUnaryRequest(m.path, (b: Buffer) => b, (b: Buffer) => b, call.request, call.metadata,
          { deadline: Date.now() + 10_000 }, (err, res) => {
            if (err || !res) { cb(err ?? { code: grpc.status.INTERNAL, details: 'empty response' }); return; }
            const hook = this.rewrite;
            if (!hook) { cb(null, res); return; }
            hook(name, call.request, res).then((r) => cb(null, r), (e: unknown) => cb({ code: grpc.status.INTERNAL, details: String(e) }));
          });
      };
    }
    this.server.addService(raw as grpc.ServiceDefinition, impl);
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
    return `127.0.0.1:${this.port}`;
  }

  setTarget(endpoint: string): void {
    this.target = endpoint;
    this.client?.close();
    this.client = new grpc.Client(this.target, grpc.credentials.createInsecure());
  }

  async close(): Promise<void> {
    this.client?.close();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
