// DCAP verification benchmark: every accepted fixture case of fixtures/dcap/manifest.json verified
// with warm caches by our verifier and by the JS peer @phala/dcap-qvl in the same run; prints both
// rates and their ratio (target: ours >= 10x the peer). Also prints our cold-cache rate.
//   node dist/bench/dcap/main.js          (BENCH_MS=ms per measurement, GATEKEEPER_SHARED=path)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { loadCollateral, verifyQuote, VerificationCache } from '../../src/attestation/index.js';
import { sharedDir } from '../common/shared-dir.js';

const BUDGET_MS = Number(process.env.BENCH_MS ?? 1500);

interface PeerReport { status: string; advisory_ids: string[] }
const peer = createRequire(import.meta.url)('@phala/dcap-qvl') as { verify(q: Buffer, c: unknown, now: number): PeerReport };

function measure(fn: () => void): number {
  for (let i = 0; i < 3; i++) fn();
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < BUDGET_MS) { fn(); ops++; t = performance.now(); }
  return (ops * 1000) / (t - t0);
}

const dcap = path.join(sharedDir(), 'fixtures', 'dcap');
const manifest = JSON.parse(fs.readFileSync(path.join(dcap, 'manifest.json'), 'utf8')) as {
  trustedRoot: string; cases: { id: string; quote: string; collateral: string; now: number; expected: { verdict: string } }[];
};
const root = Uint8Array.from(fs.readFileSync(path.join(dcap, manifest.trustedRoot)));
const cache = new VerificationCache();

const fmt = (x: number) => x.toFixed(0).padStart(8);
console.log(`DCAP quote verification, ${BUDGET_MS} ms per measurement, node ${process.version}`);
console.log(`${'case'.padEnd(30)} ${'ours/s'.padStart(8)} ${'peer/s'.padStart(8)} ${'ratio'.padStart(7)} ${'ours cold/s'.padStart(11)}`);
let oursTime = 0;
let peerTime = 0;
let n = 0;
for (const c of manifest.cases.filter((x) => x.expected.verdict === 'accept')) {
  const quote = Uint8Array.from(fs.readFileSync(path.join(dcap, c.quote)));
  const json = JSON.parse(fs.readFileSync(path.join(dcap, c.collateral), 'utf8')) as Record<string, string>;
  const collateral = loadCollateral(json);
  const quoteBuf = Buffer.from(quote);
  const first = verifyQuote(quote, collateral, { now: c.now, trustedRoot: root, cache });
  const theirs = peer.verify(quoteBuf, json, c.now);
  if (!first.ok || first.status !== theirs.status) throw new Error(`${c.id}: verifiers disagree before timing`);
  const ours = measure(() => { if (!verifyQuote(quote, collateral, { now: c.now, trustedRoot: root, cache }).ok) throw new Error('refused'); });
  const cold = measure(() => { verifyQuote(quote, collateral, { now: c.now, trustedRoot: root, cache: new VerificationCache() }); });
  const p = measure(() => { peer.verify(quoteBuf, json, c.now); });
  oursTime += 1 / ours; peerTime += 1 / p; n++;
  console.log(`${c.id.padEnd(30)} ${fmt(ours)} ${fmt(p)} ${(ours / p).toFixed(1).padStart(6)}x ${fmt(cold).padStart(11)}`);
}
const oursAll = n / oursTime;
const peerAll = n / peerTime;
console.log(`${'all accepted cases (mean time)'.padEnd(30)} ${fmt(oursAll)} ${fmt(peerAll)} ${(oursAll / peerAll).toFixed(1).padStart(6)}x`);
console.log(oursAll / peerAll >= 10 ? 'target met: >= 10x the peer' : 'TARGET MISSED: < 10x the peer');
