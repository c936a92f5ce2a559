// Loads proto/gatekeeper/v1 with @grpc/proto-loader. Every service is wrapped so that each handler
// also sees the exact request bytes it was sent: signatures on operator and peer calls cover them.
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_FILES = [
  'gatekeeper/v1/common.proto',
  'gatekeeper/v1/public.proto',
  'gatekeeper/v1/worker.proto',
  'gatekeeper/v1/operator.proto',
  'gatekeeper/v1/peer.proto',
  'gatekeeper/v1/demo.proto',
];

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The repository's proto/ folder, found from this module in src/ (jest) or dist/src/ (built). */
export function protoDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'proto');
    if (fs.existsSync(path.join(candidate, 'gatekeeper', 'v1'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the proto/ folder next to the Gatekeeper sources');
}

let cached: { definition: protoLoader.PackageDefinition; pkg: grpc.GrpcObject } | undefined;

export function loadGatekeeperProtos(): { definition: protoLoader.PackageDefinition; pkg: grpc.GrpcObject } {
  if (cached) return cached;
  const definition = protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
  cached = { definition, pkg: grpc.loadPackageDefinition(definition) };
  return cached;
}

export type ServiceName = 'PublicService' | 'WorkerService' | 'OperatorService' | 'PeerService' | 'DemoContract';

/** A raw-bytes marker attached to each deserialized request (not enumerable, never serialized). */
export const RAW = Symbol('raw request bytes');

/** Set on a request whose bytes did not decode as the method's message. */
export const MALFORMED = Symbol('malformed request');

export function malformedReason(request: object): string | undefined {
  const m = (request as Record<symbol, unknown>)[MALFORMED];
  return typeof m === 'string' ? m : undefined;
}

export function rawBytes(request: object): Uint8Array {
  const raw = (request as Record<symbol, unknown>)[RAW];
  return raw instanceof Uint8Array ? raw : new Uint8Array();
}

/** The service definition of one service, with deserializers that keep the request bytes. */
export function serviceDefinition(name: ServiceName): grpc.ServiceDefinition {
  const { definition } = loadGatekeeperProtos();
  const original = definition[`gatekeeper.v1.${name}`] as grpc.ServiceDefinition;
  const wrapped: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(original)) {
    wrapped[method] = {
      ...def,
      requestDeserialize: (buf: Buffer) => {
        let obj: object;
        try {
          obj = def.requestDeserialize(buf) as object;
        } catch (err) {
          // grpc-js would answer INTERNAL; undecodable input is the caller's error.
          obj = { [MALFORMED]: err instanceof Error ? err.message : 'undecodable request' };
        }
        Object.defineProperty(obj, RAW, { value: new Uint8Array(buf), enumerable: false });
        return obj;
      },
    };
  }
  return wrapped as grpc.ServiceDefinition;
}

/** A client constructor for one service (SDK, CLI, peers). */
export function serviceClient(name: ServiceName): grpc.ServiceClientConstructor {
  const { pkg } = loadGatekeeperProtos();
  const v1 = (pkg.gatekeeper as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return v1[name] as grpc.ServiceClientConstructor;
}
