// A generic gRPC server-reflection client (grpc/doc/server-reflection.md), built only from the reflection
// protos that @grpc/reflection ships, so it knows nothing of Gatekeeper's protos: what a tool such as
// grpcurl sees.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';

export type ReflectionVersion = 'v1' | 'v1alpha';

interface ReflectionResponse {
  message_response: 'list_services_response' | 'file_descriptor_response' | 'error_response' | string;
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

export interface DecodedFile {
  name: string;
  package: string;
  dependencies: string[];
  services: { name: string; methods: { name: string; inputType: string; outputType: string }[] }[];
  /** Fully qualified names ('.pkg.Msg', '.pkg.Msg.Nested') of the messages and enums the file defines. */
  definedTypes: string[];
  /** The type names that fields and methods refer to, with the scope each is written in. */
  references: TypeReference[];
}

export interface TypeReference { scope: string; typeName: string }

interface MessageDescriptor { name: string; field: { typeName: string }[]; nestedType: MessageDescriptor[]; enumType: { name: string }[] }

function collectTypes(scope: string, messages: MessageDescriptor[], defined: string[], references: TypeReference[]): void {
  for (const m of messages) {
    const fqn = `${scope}.${m.name}`;
    defined.push(fqn, ...m.enumType.map((e) => `${fqn}.${e.name}`));
    references.push(...m.field.filter((f) => f.typeName !== '').map((f) => ({ scope: fqn, typeName: f.typeName })));
    collectTypes(fqn, m.nestedType, defined, references);
  }
}

/**
 * Resolves a type name as descriptor.proto says: a leading '.' means fully qualified, otherwise C++-like
 * scoping from the innermost scope outwards. Undefined when no candidate is defined.
 */
export function resolveType(ref: TypeReference, defined: ReadonlySet<string>): string | undefined {
  if (ref.typeName.startsWith('.')) return defined.has(ref.typeName) ? ref.typeName : undefined;
  for (let scope = ref.scope; ; scope = scope.slice(0, Math.max(0, scope.lastIndexOf('.')))) {
    const candidate = `${scope}.${ref.typeName}`;
    if (defined.has(candidate)) return candidate;
    if (scope === '') return undefined;
  }
}

function reflectionProto(version: ReflectionVersion): string {
  const require = createRequire(import.meta.url);
  const pkgRoot = path.dirname(require.resolve('@grpc/reflection/package.json'));
  return path.join(pkgRoot, 'build', 'proto', 'grpc', 'reflection', version, 'reflection.proto');
}

function reflectionClient(endpoint: string, version: ReflectionVersion): grpc.Client {
  const def = protoLoader.loadSync(reflectionProto(version), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> } };
  const Ctor = pkg.grpc.reflection[version]!.ServerReflection;
  return new Ctor(endpoint, grpc.credentials.createInsecure());
}

/** Sends the requests on one bidirectional stream and resolves with one response per request. */
function ask(endpoint: string, version: ReflectionVersion, requests: Record<string, string>[]): Promise<ReflectionResponse[]> {
  const client = reflectionClient(endpoint, version);
  return new Promise<ReflectionResponse[]>((resolve, reject) => {
    const responses: ReflectionResponse[] = [];
    const call = (client as unknown as Record<string, (opts: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, ReflectionResponse>>)
      .ServerReflectionInfo!.call(client, { deadline: Date.now() + 10_000 });
    call.on('data', (r: ReflectionResponse) => {
      responses.push(r);
      if (responses.length === requests.length) call.end();
    });
    call.on('error', (err) => { client.close(); reject(err); });
    call.on('end', () => {
      client.close();
      if (responses.length === requests.length) resolve(responses);
      else reject(new Error(`reflection ${version}: ${responses.length} responses to ${requests.length} requests`));
    });
    for (const r of requests) call.write(r);
  });
}

function expectKind<K extends 'list_services_response' | 'file_descriptor_response'>(r: ReflectionResponse, kind: K): NonNullable<ReflectionResponse[K]> {
  if (r.message_response !== kind || !r[kind]) {
    const e = r.error_response;
    throw new Error(`reflection answered ${r.message_response}${e ? ` (${e.error_code}: ${e.error_message})` : ''} instead of ${kind}`);
  }
  return r[kind] as NonNullable<ReflectionResponse[K]>;
}

/** list_services: the fully qualified names of the services the server advertises. */
export async function listServices(endpoint: string, version: ReflectionVersion): Promise<string[]> {
  const [r] = await ask(endpoint, version, [{ list_services: '' }]);
  return expectKind(r!, 'list_services_response').service.map((s) => s.name);
}

/** file_containing_symbol: the file that defines `symbol` (and possibly its dependencies), decoded. */
export async function fileContainingSymbol(endpoint: string, version: ReflectionVersion, symbol: string): Promise<DecodedFile[]> {
  const [r] = await ask(endpoint, version, [{ file_containing_symbol: symbol }]);
  return expectKind(r!, 'file_descriptor_response').file_descriptor_proto.map((bytes) => {
    const f = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(bytes), { defaults: true, arrays: true }) as {
      name: string; package: string; dependency: string[]; messageType: MessageDescriptor[]; enumType: { name: string }[];
      service: { name: string; method: { name: string; inputType: string; outputType: string }[] }[];
    };
    const scope = f.package ? `.${f.package}` : '';
    const definedTypes = f.enumType.map((e) => `${scope}.${e.name}`);
    const references: TypeReference[] = [];
    collectTypes(scope, f.messageType, definedTypes, references);
    for (const s of f.service) references.push(...s.method.flatMap((m) => [m.inputType, m.outputType]).map((typeName) => ({ scope, typeName })));
    return {
      name: f.name, package: f.package, dependencies: f.dependency, definedTypes, references,
      services: f.service.map((s) => ({ name: s.name, methods: s.method.map((m) => ({ name: m.name, inputType: m.inputType, outputType: m.outputType })) })),
    };
  });
}
