// gatekeeper.v1.DemoContract (proto/gatekeeper/v1/demo.proto): opens an invocation envelope v1
// (DESIGN §8) with the contract key the worker holds and answers SHA-256 and length of the
// plaintext, so a round trip can be checked without the worker ever echoing the plaintext.
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { decodeEnvelope, EnvelopeError, openInvocation } from '../crypto/envelope.js';
import { HpkeOpenError } from '../crypto/hpke.js';
import { invalidArgument, notFound } from '../rpc/errors.js';
import { unary } from '../rpc/handler.js';
import { serviceDefinition } from '../rpc/proto.js';

export type Log = (line: string) => void;

export class DemoContract {
  private readonly keys = new Map<string, Uint8Array>();

  constructor(private readonly log: Log = () => {}) {}

  private static id(cid: Uint8Array, version: number): string { return `${bytesToHex(cid)}/${version}`; }

  /** Holds sk_c for (cid, v); the key stays in memory only. */
  addKey(cid: Uint8Array, version: number, secretKey: Uint8Array): void {
    this.keys.set(DemoContract.id(cid, version), Uint8Array.from(secretKey));
  }

  /** Invoke: NOT_FOUND for a contract it does not hold, INVALID_ARGUMENT for a bad envelope. */
  async invoke(req: { envelope?: Uint8Array }): Promise<{ plaintextSha256: Uint8Array; length: string }> {
    const envelope = req.envelope instanceof Uint8Array ? Uint8Array.from(req.envelope) : new Uint8Array();
    let header;
    try {
      header = decodeEnvelope(envelope);
    } catch (err) {
      if (err instanceof EnvelopeError) throw invalidArgument(err.message);
      throw err;
    }
    const name = `contract ${bytesToHex(header.cid)} v${header.version}`;
    const sk = this.keys.get(DemoContract.id(header.cid, header.version));
    if (!sk) throw notFound(`this worker does not hold the key of ${name}`);
    let plaintext: Uint8Array;
    try {
      ({ plaintext } = await openInvocation(sk, envelope));
    } catch (err) {
      if (err instanceof HpkeOpenError || err instanceof EnvelopeError) {
        throw invalidArgument(`the envelope for ${name} does not decrypt with its contract key (wrong key, relabelled or tampered)`);
      }
      throw err;
    }
    this.log(`invoke: ${name}, ${plaintext.length} plaintext bytes`);
    return { plaintextSha256: Uint8Array.from(createHash('sha256').update(plaintext).digest()), length: String(plaintext.length) };
  }

  /** Serves DemoContract on `listen` (host:port, port 0 = any); resolves with host:port and the server. */
  async serve(listen: string): Promise<{ endpoint: string; server: grpc.Server }> {
    const server = new grpc.Server();
    const hooks = {
      onError: (_m: string, err: unknown) => this.log(`invoke failed: ${err instanceof Error ? err.name : 'error'}`),
      onDone: () => {},
    };
    server.addService(serviceDefinition('DemoContract'), { Invoke: unary('/gatekeeper.v1.DemoContract/Invoke', (r: { envelope?: Uint8Array }) => this.invoke(r), hooks) });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const host = listen.slice(0, listen.lastIndexOf(':'));
    return { endpoint: `${host}:${port}`, server };
  }
}
