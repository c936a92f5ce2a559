// Crypto benchmark: contract-key partials, proofs, combination, FROST signing and HPKE, each as
// ops/s and as a cost ratio against a bare secp256k1 G·r measured in the same run.
//   node dist/bench/crypto/main.js
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  aggregateSignature, frostSuite, groupKeyFromCommitment, identifierForPosition, publicPackage, signingCommit, signShare,
  type KeyPackage, type Suite,
} from '../../src/crypto/frost.js';
import { combinePartials, deriveContractKey, evaluatePartial, verifyPartial } from '../../src/crypto/contract-key.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { generateTransportKeyPair, hpkeOpen, hpkeSeal } from '../../src/crypto/hpke.js';

const BUDGET_MS = Number(process.env.BENCH_MS ?? 1200);

async function measure(fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn(); // warm-up (JIT, precomputed tables)
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < BUDGET_MS) {
    await fn();
    ops++;
    t = performance.now();
  }
  return (ops * 1000) / (t - t0);
}

function deal(suite: Suite, n: number, k: number): KeyPackage[] {
  const ids = Array.from({ length: n }, (_, i) => identifierForPosition(i));
  const d = frostSuite(suite).trustedDealer({ min: k, max: n }, ids);
  return ids.map((id) => ({
    suite, identifier: id, signingShare: d.secretShares[id]!.signingShare, threshold: k, participants: n,
    commitments: d.public.commitments, verifyingShares: d.public.verifyingShares,
    groupPublicKey: groupKeyFromCommitment(suite, d.public.commitments[0]!),
  }));
}

const rows: { name: string; ops: number }[] = [];
async function row(name: string, fn: () => unknown | Promise<unknown>): Promise<void> {
  rows.push({ name, ops: await measure(fn) });
}

const G = secp256k1.Point.BASE;
const Fn = secp256k1.Point.Fn;
const scalars = Array.from({ length: 256 }, () => Fn.fromBytes(secp256k1.utils.randomSecretKey()));
let si = 0;
await row('baseline: G·r (@noble secp256k1)', () => G.multiply(scalars[si++ & 255]!));

const cid = utf8('bench-contract');
const dKeys = deal('derivation', 16, 3);
const partial = evaluatePartial(dKeys[0]!, cid, 1);
await row('partial evaluation + DLEQ proof', () => evaluatePartial(dKeys[0]!, cid, 1));
await row('partial proof verification', () => verifyPartial(partial, dKeys[0]!.verifyingShares[partial.identifier]!, cid, 1));

for (const k of [3, 5, 11]) {
  const keys = deal('derivation', 16, k);
  const partials = keys.slice(0, k).map((x) => evaluatePartial(x, cid, 1));
  const vs = keys[0]!.verifyingShares;
  await row(`combination k=${k} (verify ${k} proofs + Lagrange + derive)`, () => deriveContractKey(combinePartials(partials, vs, k, cid, 1).Y, cid, 1));
}

const zKeys = deal('signing', 5, 3);
const signers = zKeys.slice(0, 3);
const msg = utf8('gatekeeper/v1/contract-key bench');
await row('FROST sign k=3, whole round (3 commits + 3 shares + aggregate)', () => {
  const rounds = signers.map((s) => signingCommit(s));
  const commitments = rounds.map((r) => r.commitments);
  const shares = signers.map((s, i) => signShare(s, rounds[i]!.nonces, commitments, msg));
  return aggregateSignature(publicPackage(zKeys[0]!), commitments, msg, shares);
});
const others = signers.slice(1).map((s) => signingCommit(s).commitments);
await row('FROST sign k=3, per signer (commit + signShare)', () => {
  const mine = signingCommit(signers[0]!);
  return signShare(signers[0]!, mine.nonces, [mine.commitments, ...others], msg);
});

const transport = generateTransportKeyPair();
const info = utf8('gatekeeper/v1/invocation bench');
const pt = randomBytes(1024);
const sealed = await hpkeSeal(transport.publicKey, info, pt);
await row('HPKE seal 1 KiB', () => hpkeSeal(transport.publicKey, info, pt));
await row('HPKE open 1 KiB', () => hpkeOpen(transport.secretKey, sealed.enc, info, sealed.ciphertext));

const base = rows[0]!.ops;
console.log(`${'operation'.padEnd(66)} ${'ops/s'.padStart(10)} ${'ops/s ÷ G·r'.padStart(12)} ${'cost in G·r'.padStart(12)}`);
for (const r of rows) {
  console.log(`${r.name.padEnd(66)} ${r.ops.toFixed(1).padStart(10)} ${(r.ops / base).toFixed(3).padStart(12)} ${(base / r.ops).toFixed(2).padStart(12)}`);
}
