// Every method of every service of one in-process node (unsealed, no committee) gets a few thousand
// mutated requests (bench/chaos/mutate.ts: bit flips, truncation, length fields, wire types, repeated
// fields, random bytes), unsigned, with garbage auth headers, a stranger's signature or the operator's
// valid signature: no answer is INTERNAL and the node still serves. bench/chaos runs 10^5 against a devnet.
import { fuzz } from '../../bench/chaos/fuzz.js';
import { allMethods } from '../../bench/chaos/mutate.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode();
  for (const share of t.shares.slice(0, 2)) await t.client.call('OperatorService', 'Unseal', { share });
});
afterAll(async () => { await t.stop(); });

test('2,000 fuzzed messages over every method: 0 INTERNAL, the node keeps serving', async () => {
  const r = await fuzz([{ name: 'node', endpoint: t.endpoint, rss: () => process.memoryUsage().rss, alive: () => true }], {
    messages: 2000, concurrency: 16, seed: 12, sampleEvery: 500, operator: t.operator, big: false, timeoutMs: 30_000,
  });
  if (process.env.FUZZ_VERBOSE) console.log(JSON.stringify({ statuses: r.statuses, byMethod: r.byMethod }));
  expect(r.messages).toBe(2000);
  // Every method was reached, and the node answered each (no hang: no DEADLINE_EXCEEDED).
  expect(Object.keys(r.byMethod).sort()).toEqual(allMethods().map((m) => `${m.service}/${m.method}`).sort());
  expect(r.statuses.DEADLINE_EXCEEDED ?? 0).toBe(0);
  expect(r.internalFindings).toEqual([]);
  expect(r.internal).toBe(0);
  // Refusals were the caller's errors, and the operator's valid signatures got past authentication.
  expect(r.statuses.INVALID_ARGUMENT).toBeGreaterThan(0);
  const s = await t.client.call<{ sealed: boolean }>('OperatorService', 'Status', {});
  expect(s.sealed).toBe(false);
}, 120_000); // ~4 s on an idle machine; generous for a loaded one
