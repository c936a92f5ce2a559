// The engine's transport in a node: PeerService.GetCeremonyMessage. The engine asks every awaited
// member for the same (ceremony, phase) at once; those fetches go out as one signed fan-out (one
// signature for all of them, as the request is the same read for each), not one signed call per member.
import { status } from '@grpc/grpc-js';
import { RpcError } from '../rpc/errors.js';
import { PeerUnavailable, type PeerRef, type Transport, type WireMessage } from './transport.js';

type FanOut = (endpoints: string[], method: string, request: Record<string, unknown>, timeoutMs: number) => Promise<WireMessage>[];

interface Pending { peer: PeerRef; resolve(m: WireMessage): void; reject(e: unknown): void }

export class FanOutTransport implements Transport {
  private readonly batches = new Map<string, { req: { ceremony: string; phase: string }; waiting: Pending[] }>();

  constructor(private readonly fanOut: FanOut, private readonly timeoutMs = 3000) {}

  fetch(peer: PeerRef, req: { ceremony: string; phase: string }): Promise<WireMessage> {
    return new Promise((resolve, reject) => {
      const key = JSON.stringify([req.ceremony, req.phase]);
      let batch = this.batches.get(key);
      if (!batch) {
        batch = { req: { ceremony: req.ceremony, phase: req.phase }, waiting: [] };
        this.batches.set(key, batch);
        // Everything the engine asks for in this turn of the event loop goes in one fan-out.
        queueMicrotask(() => this.flush(key));
      }
      batch.waiting.push({ peer, resolve, reject });
    });
  }

  private flush(key: string): void {
    const batch = this.batches.get(key);
    this.batches.delete(key);
    if (!batch) return;
    const calls = this.fanOut(batch.waiting.map((w) => w.peer.endpoint), 'GetCeremonyMessage', batch.req, this.timeoutMs);
    batch.waiting.forEach((w, i) => {
      calls[i]!.then(w.resolve, (err: unknown) => {
        // Only a refused connection is evidence that a member is down (transport.ts).
        w.reject(err instanceof RpcError && err.code === status.UNAVAILABLE ? new PeerUnavailable(err.message) : err);
      });
    });
  }
}
