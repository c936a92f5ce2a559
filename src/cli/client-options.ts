// TLS options shared by the commands that call a node: --tls-ca (trust this CA instead of plaintext),
// and --tls-cert/--tls-key for mTLS (an operator's client certificate).
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
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

/** A client for `endpoint`: plaintext unless --tls-ca is given; mTLS with --tls-cert and --tls-key. */
export function clientFor(endpoint: string, values: Record<string, unknown>): GatekeeperClient {
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
      process.stderr.write(`gatekeeper ${command}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    client.close();
  }
}
