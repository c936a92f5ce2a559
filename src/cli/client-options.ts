// TLS options shared by the commands that call a node: --tls-ca (trust this CA instead of plaintext),
// and --tls-cert/--tls-key for mTLS (an operator's client certificate).
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { GatekeeperClient } from '../rpc/client.js';
import { RpcError } from '../rpc/errors.js';
import { UsageError } from './args.js';

export const TLS_OPTIONS = {
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

export const TLS_USAGE = '[--tls-ca PEM [--tls-cert PEM --tls-key PEM]]';

function read(file: string, what: string): Buffer {
  try { return fs.readFileSync(file); } catch { throw new UsageError(`cannot read ${what} ${file}`); }
}

/** Checks a HOST:PORT argument: `localhost` alone, a URL or a port out of range gets a usage error saying so. */
export function checkEndpoint(endpoint: string, flag = '--endpoint'): string {
  const shown = JSON.stringify(endpoint.slice(0, 80));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) throw new UsageError(`${flag} ${shown} must be HOST:PORT without a scheme (e.g. 127.0.0.1:7001)`);
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):(\d{1,5})$/.exec(endpoint);
  if (!m) throw new UsageError(`${flag} ${shown} must be HOST:PORT, the node's gRPC address (e.g. 127.0.0.1:7001); the port is missing or malformed`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new UsageError(`${flag} ${shown}: port ${port} is out of range (1 to 65535)`);
  return endpoint;
}

/**
 * gRPC's connection-failure text made readable: no "No connection established. Last error: Error:",
 * no empty "Resolution note", no timestamps, and a list of attempts without repeats.
 */
export function cleanGrpcText(text: string): string {
  let t = text.replace(/No connection established\.\s*Last error:\s*(?:Error:\s*)?/gi, '')
    .replace(/\.?\s*Resolution note:\s*(?=;|\)|$)/g, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)/g, '')
    .replace(/connect ECONNREFUSED [^\s;)]+/g, 'connection refused');
  // A failover's "(N attempts: a; b; a; b)" lists each distinct failure once.
  t = t.replace(/\((\d+) attempts: ([^()]*)\)/, (_m, n: string, list: string) => `(${n} attempts: ${[...new Set(list.split('; '))].join('; ')})`);
  return t.trim().slice(0, 600);
}

/**
 * One sentence for a failed call: a connection failure says which endpoint could not be reached and
 * why (gRPC's own text carries timestamps and an empty "Resolution note"), a refusal keeps the
 * node's message.
 */
export function describeRpcError(endpoint: string, err: RpcError): string {
  if (err.code === grpcStatus.UNAVAILABLE || err.code === grpcStatus.DEADLINE_EXCEEDED) {
    const m = err.message;
    let why: string;
    if (/ECONNREFUSED/.test(m)) why = 'connection refused (is the node running, and is this its gRPC port?)';
    else if (/ENOTFOUND|DNS resolution failed|Name resolution failed/i.test(m)) why = 'the host name does not resolve';
    else if (/EHOSTUNREACH|ENETUNREACH/.test(m)) why = 'the host is unreachable';
    else if (/ssl|tls|certificate|handshake/i.test(m)) why = 'the TLS handshake failed (check --tls-ca, and that the node serves TLS)';
    else if (err.code === grpcStatus.DEADLINE_EXCEEDED || /deadline/i.test(m)) why = 'no answer before the deadline';
    else why = (cleanGrpcText(m) || 'unavailable').slice(0, 200);
    return `cannot reach ${endpoint}: ${why}`.replace(/\.?$/, '.');
  }
  return err.message.slice(0, 500);
}

/** A client for `endpoint`: plaintext unless --tls-ca is given; mTLS with --tls-cert and --tls-key. */
export function clientFor(endpoint: string, values: Record<string, unknown>): GatekeeperClient {
  checkEndpoint(endpoint);
  const ca = values['tls-ca'];
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (ca === undefined) {
    if (cert !== undefined) throw new UsageError('--tls-cert needs --tls-ca');
    return new GatekeeperClient(endpoint);
  }
  const creds = grpc.credentials.createSsl(read(String(ca), 'CA certificate'),
    key === undefined ? null : read(String(key), 'client key'), cert === undefined ? null : read(String(cert), 'client certificate'));
  return new GatekeeperClient(endpoint, creds);
}

/** Runs `fn` with a node client; a gRPC refusal is printed as `gatekeeper COMMAND: message` and exits 1. */
export async function withNode(command: string, client: GatekeeperClient, fn: (client: GatekeeperClient) => Promise<number>): Promise<number> {
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof RpcError) {
      process.stderr.write(`gatekeeper ${command}: ${describeRpcError(client.endpoint, err)}\n`);
      return 1;
    }
    throw err;
  } finally {
    client.close();
  }
}
