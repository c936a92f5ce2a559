// gRPC status errors with readable messages. Handlers throw RpcError; the server wrapper turns it into
// the call's status, and anything else into INTERNAL without leaking its text.
import { status } from '@grpc/grpc-js';

/** The longest status message a node sends, in UTF-8 bytes (a gRPC status travels in HTTP/2 trailers). */
export const MAX_STATUS_MESSAGE_BYTES = 1024;
export const TRUNCATION_MARKER = ' …[truncated]';

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes, ending with the truncation marker when it was cut (never
 * in the middle of a character). Every status message and every error text quoting input goes through it.
 */
export function boundText(text: string, maxBytes = MAX_STATUS_MESSAGE_BYTES): string {
  if (text.length <= maxBytes / 4 || Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const marker = Buffer.from(TRUNCATION_MARKER, 'utf8');
  // Look at a prefix only: the input may be megabytes long.
  const head = Buffer.from(text.slice(0, maxBytes), 'utf8').subarray(0, Math.max(0, maxBytes - marker.length));
  let s = head.toString('utf8');
  if (s.endsWith('\uFFFD')) s = s.slice(0, -1); // a character cut in half
  return s + TRUNCATION_MARKER;
}

export class RpcError extends Error {
  override name = 'RpcError';
  constructor(readonly code: status, message: string) {
    super(boundText(message));
  }
}

export const invalidArgument = (msg: string) => new RpcError(status.INVALID_ARGUMENT, msg);
export const unauthenticated = (msg: string) => new RpcError(status.UNAUTHENTICATED, msg);
export const permissionDenied = (msg: string) => new RpcError(status.PERMISSION_DENIED, msg);
export const failedPrecondition = (msg: string) => new RpcError(status.FAILED_PRECONDITION, msg);
export const notFound = (msg: string) => new RpcError(status.NOT_FOUND, msg);
export const resourceExhausted = (msg: string) => new RpcError(status.RESOURCE_EXHAUSTED, msg);
export const alreadyExists = (msg: string) => new RpcError(status.ALREADY_EXISTS, msg);
export const unavailable = (msg: string) => new RpcError(status.UNAVAILABLE, msg);

/** Checks a bytes field's length; `what` names the field in the error. */
export function expectBytes(value: unknown, what: string, lengths: number | number[]): Uint8Array {
  const allowed = Array.isArray(lengths) ? lengths : [lengths];
  if (!(value instanceof Uint8Array) || value.length === 0) throw invalidArgument(`${what} is required`);
  if (!allowed.includes(value.length)) {
    throw invalidArgument(`${what} must be ${allowed.join(' or ')} bytes, got ${value.length}`);
  }
  return new Uint8Array(value);
}

/** Parses a decimal u64 string field. */
export function expectU64(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(value)) {
    throw invalidArgument(`${what} must be a decimal unsigned 64-bit integer`);
  }
  const v = BigInt(value);
  if (v > 0xffffffffffffffffn) throw invalidArgument(`${what} is larger than 2^64-1`);
  return v;
}
