// One client for every Gatekeeper service. Requests are encoded here (protobufjs, the codec the server
// uses) so that a signed call signs exactly the bytes that go on the wire.
import * as grpc from '@grpc/grpc-js';
import { loadGatekeeperProtos, type ServiceName } from './proto.js';
import { encodeMessage } from './messages.js';
import { signCall, type CallRole } from './auth.js';
import { RpcError } from './errors.js';

export interface CallOptions {
  /** Sign the call with this key under this role (operator or peer calls). */
  sign?: { role: CallRole; secretKey: Uint8Array; publicKey?: Uint8Array };
  /** Deadline in milliseconds from now (default 10 s). */
  timeoutMs?: number;
  /** Wait for the channel to connect (until the deadline) instead of failing fast while it reconnects. */
  waitForReady?: boolean;
  /** Already signed metadata for exactly these request bytes (a fan-out signs once for every member). */
  metadata?: grpc.Metadata;
  /** Aborting cancels the call: it rejects with CANCELLED (a fan-out drops the answers it no longer needs). */
  signal?: AbortSignal;
}

type Ctor = new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client;
const ctorCache = new Map<ServiceName, { ctor: Ctor; requestTypes: Record<string, string> }>();

function rawClient(service: ServiceName) {
  const hit = ctorCache.get(service);
  if (hit) return hit;
  const { definition } = loadGatekeeperProtos();
  const def = definition[`gatekeeper.v1.${service}`] as grpc.ServiceDefinition;
  const passthrough: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const requestTypes: Record<string, string> = {};
  for (const [name, m] of Object.entries(def)) {
    passthrough[name] = { ...m, requestSerialize: (b: unknown) => b as Buffer };
    const typeName = ((m as unknown as { requestType: { type: { name: string } } }).requestType.type.name);
    requestTypes[name] = typeName;
  }
  const entry = { ctor: grpc.makeGenericClientConstructor(passthrough as grpc.ServiceDefinition, service) as unknown as Ctor, requestTypes };
  ctorCache.set(service, entry);
  return entry;
}

export class GatekeeperClient {
  private readonly clients = new Map<ServiceName, grpc.Client>();

  constructor(readonly endpoint: string, private readonly credentials = grpc.credentials.createInsecure(),
    private readonly options: grpc.ClientOptions = {}) {}

  private client(service: ServiceName): grpc.Client {
    let c = this.clients.get(service);
    if (!c) {
      c = new (rawClient(service).ctor)(this.endpoint, this.credentials, this.options);
      this.clients.set(service, c);
    }
    return c;
  }

  /** The request bytes of `service.method` for a plain request object (what a signature covers). */
  static encode(service: ServiceName, method: string, request: Record<string, unknown>): Uint8Array {
    const typeName = rawClient(service).requestTypes[method];
    if (!typeName) throw new Error(`${service} has no method ${method}`);
    return encodeMessage(typeName, request);
  }

  /** Calls `service.method` with a plain request object; rejects with RpcError carrying the status. */
  call<Res = Record<string, unknown>>(service: ServiceName, method: string, request: Record<string, unknown> = {},
    opts: CallOptions = {}): Promise<Res> {
    let bytes: Uint8Array;
    try { bytes = GatekeeperClient.encode(service, method, request); } catch (err) { return Promise.reject(err); }
    return this.callRaw<Res>(service, method, bytes, opts);
  }

  /** Sends already-encoded request bytes (tests use it to send malformed input). */
  callRaw<Res>(service: ServiceName, method: string, bytes: Uint8Array, opts: CallOptions = {}): Promise<Res> {
    const path = `/gatekeeper.v1.${service}/${method}`;
    const md = opts.metadata ? opts.metadata.clone()
      : opts.sign ? signCall(opts.sign.role, opts.sign.secretKey, path, bytes, Date.now(), opts.sign.publicKey) : new grpc.Metadata();
    if (opts.waitForReady) md.setOptions({ waitForReady: true });
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    const c = this.client(service) as unknown as Record<string, (req: Buffer, md: grpc.Metadata, o: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown>;
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(new RpcError(grpc.status.CANCELLED, 'cancelled by the caller'));
    return new Promise((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = c[method]!.call(c, Buffer.from(bytes), md, { deadline }, (err, res) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(new RpcError(err.code, err.details || err.message));
        else resolve(res);
      }) as unknown as grpc.ClientUnaryCall;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
