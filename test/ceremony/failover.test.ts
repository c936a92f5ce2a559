// Roster-certificate coordinator failover (issue 12, item 1), on an injectable clock: a coordinator that
// does not answer (a timeout, UNAVAILABLE, any failure but its own "not yet") for FAILOVER_MS, counted
// from when the first unanswered call went out, is passed over for the next member in roster order.
import { status } from '@grpc/grpc-js';
import { Backoff, chooseCoordinator, FAILOVER_MS, noAnswer } from '../../src/ceremony/transport.js';
import { RpcError } from '../../src/rpc/errors.js';

const members = ['a', 'b', 'c', 'd'].map((id) => ({ id }));

function setUp() {
  const clock = { t: 1_000_000 };
  const pulls = new Backoff(() => clock.t, 1000);
  /** One pull of `peer` that went out at `sent` and ended now with `err` (undefined: answered). */
  const pull = (peer: string, sent: number, err?: unknown) => {
    if (err === undefined) pulls.succeeded(`GetRosterCertificate/${peer}`, peer);
    else pulls.failed(`GetRosterCertificate/${peer}`, peer, noAnswer(err), sent);
  };
  const leaderFor = (self: string) => chooseCoordinator(members, self, (id) => pulls.isDown(id)).id;
  return { clock, pulls, pull, leaderFor };
}

describe('coordinator failover', () => {
  test('a coordinator that times out (DEADLINE_EXCEEDED, as a stopped process does) is passed over once its first unanswered call is FAILOVER_MS old', () => {
    const { clock, pull, leaderFor } = setUp();
    const sent = clock.t;
    clock.t += 3000;
    pull('a', sent, new RpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'));
    expect(FAILOVER_MS).toBeLessThanOrEqual(3000);
    expect(leaderFor('c')).toBe('b');
    expect(leaderFor('b')).toBe('b');
    // The coordinator itself never counts itself down.
    expect(leaderFor('a')).toBe('a');
  });

  test('failures of any kind keep the evidence; a later timeout does not reset when it started', () => {
    const { clock, pull, leaderFor } = setUp();
    const first = clock.t;
    clock.t += 100;
    pull('a', first, new RpcError(status.UNAVAILABLE, 'member is marked down'));
    expect(leaderFor('c')).toBe('a');
    for (const err of [new RpcError(status.DEADLINE_EXCEEDED, 'x'), new RpcError(status.INTERNAL, 'x'), new RpcError(status.NOT_FOUND, 'x'), new RpcError(status.CANCELLED, 'x'), new Error('socket')]) {
      const sent = clock.t;
      clock.t += 700;
      pull('a', sent, err);
    }
    expect(clock.t - first).toBeGreaterThanOrEqual(FAILOVER_MS);
    expect(leaderFor('d')).toBe('b');
  });

  test('a "not yet" answer (FAILED_PRECONDITION: the long poll ran out) or an answer shows the coordinator alive', () => {
    const { clock, pull, leaderFor } = setUp();
    const sent = clock.t;
    clock.t += 3000;
    pull('a', sent, new RpcError(status.DEADLINE_EXCEEDED, 'x'));
    expect(leaderFor('c')).toBe('b');
    pull('a', clock.t, new RpcError(status.FAILED_PRECONDITION, 'the roster certificate of that epoch is not signed yet'));
    expect(leaderFor('c')).toBe('a');
    clock.t += 3000;
    pull('a', clock.t - 3000, new RpcError(status.DEADLINE_EXCEEDED, 'x'));
    pull('a', clock.t);
    expect(leaderFor('c')).toBe('a');
  });

  test('the next member down too: the one after it coordinates', () => {
    const { clock, pull, leaderFor } = setUp();
    const sent = clock.t;
    clock.t += 3000;
    pull('a', sent, new RpcError(status.DEADLINE_EXCEEDED, 'x'));
    pull('b', sent, new RpcError(status.UNAVAILABLE, 'x'));
    expect(leaderFor('d')).toBe('c');
  });
});
