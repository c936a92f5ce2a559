// The node's engine transport: the fetches one pull makes for (ceremony, phase) go out as one signed
// fan-out; a refused connection becomes PeerUnavailable (evidence that a member is down), nothing else does.
import { status } from '@grpc/grpc-js';
import { FanOutTransport } from '../../src/ceremony/peer-transport.js';
import { PeerUnavailable, type WireMessage } from '../../src/ceremony/transport.js';
import { RpcError } from '../../src/rpc/errors.js';

const msg = (sender: string): WireMessage => ({ ceremony: 'genesis-1', phase: 'round1', sender, recipient: '*', body: new Uint8Array([1]), signature: new Uint8Array(64) });

test('one fan-out per (ceremony, phase) in a turn; refusals are PeerUnavailable, other errors pass through', async () => {
  const calls: { endpoints: string[]; request: Record<string, unknown> }[] = [];
  const t = new FanOutTransport((endpoints, _method, request) => {
    calls.push({ endpoints, request });
    return endpoints.map((e) => {
      if (e === 'down') return Promise.reject(new RpcError(status.UNAVAILABLE, 'connection refused'));
      if (e === 'slow') return Promise.reject(new RpcError(status.DEADLINE_EXCEEDED, 'deadline'));
      return Promise.resolve(msg(e));
    });
  });
  const req = { ceremony: 'genesis-1', phase: 'round1' };
  const results = await Promise.allSettled([
    t.fetch({ id: 'a', endpoint: 'a' }, req), t.fetch({ id: 'b', endpoint: 'down' }, req), t.fetch({ id: 'c', endpoint: 'slow' }, req),
    t.fetch({ id: 'd', endpoint: 'd' }, { ceremony: 'genesis-1', phase: 'round2' }),
  ]);
  expect(calls).toEqual([
    { endpoints: ['a', 'down', 'slow'], request: req },
    { endpoints: ['d'], request: { ceremony: 'genesis-1', phase: 'round2' } },
  ]);
  expect(results[0]).toMatchObject({ status: 'fulfilled', value: { sender: 'a' } });
  expect(results[1]).toMatchObject({ status: 'rejected', reason: expect.any(PeerUnavailable) });
  expect(results[2]).toMatchObject({ status: 'rejected', reason: expect.any(RpcError) });
  expect((results[2] as PromiseRejectedResult).reason).not.toBeInstanceOf(PeerUnavailable);
  // a later turn makes a new fan-out
  await t.fetch({ id: 'a', endpoint: 'a' }, req);
  expect(calls).toHaveLength(3);
});
