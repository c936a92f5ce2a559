// Protobuf encode/decode of messages that travel as bytes inside other messages (a snapshot is signed
// as the exact bytes it is carried in), with protobufjs, the codec @grpc/proto-loader itself uses.
import path from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_FILES, protoDir } from './proto.js';

let root: protobuf.Root | undefined;

function loadRoot(): protobuf.Root {
  if (root) return root;
  const dir = protoDir();
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => path.isAbsolute(target) ? target : path.join(dir, target);
  r.loadSync(PROTO_FILES, { keepCase: false });
  root = r;
  return r;
}

export function messageType(name: string): protobuf.Type {
  return loadRoot().lookupType(`gatekeeper.v1.${name}`);
}

/** Encodes a plain object (camelCase fields, Uint8Array bytes, decimal-string u64) as `name`. */
export function encodeMessage(name: string, value: Record<string, unknown>): Uint8Array {
  const t = messageType(name);
  // fromObject (not verify) so that u64 fields may be given as decimal strings.
  return t.encode(t.fromObject(value)).finish();
}

/** Decodes bytes as `name` into a plain object with defaults; throws on malformed input. */
export function decodeMessage<T>(name: string, bytes: Uint8Array): T {
  const t = messageType(name);
  const msg = t.decode(bytes);
  return t.toObject(msg, { longs: String, defaults: true }) as T;
}
