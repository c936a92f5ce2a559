// The CPU cost of each cryptographic step a genesis member performs, timed alone in this process at
// the committee size under study, and how many times genesis.ts makes a member perform it. Every
// cost is also given as a ratio to one bare secp256k1 base-point multiplication timed in the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { generateIdentityKey, identityPublicKey, signTagged, verifyTagged } from '../../src/crypto/identity.js';
import { generateTransportKeyPair, openFromPeer, sealToPeer } from '../../src/crypto/hpke.js';
import {
  decodeDkgRound1, decodeDkgState, decodeKeyPackage, decodePublicKeyPackage, dkgRound1, dkgRound2, dkgRound3,
  encodeDkgRound1, encodeDkgState, encodeKeyPackage, encodePublicKeyPackage, identifierForPosition, publicPackage,
  type DkgRound1Package, type DkgRound2Package, type DkgState, type KeyPackage, type Suite,
} from '../../src/crypto/frost.js';
import { NonceRegistry, signCall, verifyCall } from '../../src/rpc/auth.js';

export interface StepCost {
  step: string;
  /** CPU milliseconds per call (user + system of this process). */
  ms: number;
  /** ms over one Point.BASE.multiply timed just before this step (others load this machine unevenly). */
  ratio: number;
  /** Calls per member per genesis; undefined when it depends on measured RPC counts. */
  perMember?: number;
  note: string;
}

const baseMultiply = () => secp256k1.Point.BASE.multiply(secp256k1.Point.Fn.fromBytes(secp256k1.utils.randomSecretKey()));
/** The baseline timed just before the latest step. */
let lastBaseMs = NaN;

/** CPU ms per call of fn: repeats until both minRuns calls and minMs of CPU have been spent. */
async function cpuPerCall(fn: () => unknown, minRuns = 5, minMs = 150): Promise<number> {
  lastBaseMs = await cpuLoop(baseMultiply, 30, 60);
  return cpuLoop(fn, minRuns, minMs);
}

async function cpuLoop(fn: () => unknown, minRuns: number, minMs: number): Promise<number> {
  await fn(); // warm-up: JIT and noble's precomputed tables
  let runs = 0;
  const c0 = process.cpuUsage();
  let spent = 0;
  while (runs < minRuns || spent < minMs) {
    await fn();
    runs++;
    const c = process.cpuUsage(c0);
    spent = (c.user + c.system) / 1000;
  }
  return spent / runs;
}

/** Like cpuPerCall, for a step that needs a fresh, untimed input each call (e.g. a one-shot DKG state). */
async function cpuPerCallWithSetup<T>(setup: () => T, fn: (x: T) => unknown, runs: number): Promise<number> {
  lastBaseMs = await cpuLoop(baseMultiply, 30, 60);
  await fn(setup());
  let total = 0;
  for (let i = 0; i < runs; i++) {
    const x = setup();
    const c0 = process.cpuUsage();
    await fn(x);
    const c = process.cpuUsage(c0);
    total += (c.user + c.system) / 1000;
  }
  return total / runs;
}

/** A full in-memory DKG for one suite: every member's state after round 2 and everything member 0 receives. */
function dkgFixture(suite: Suite, ids: string[], k: number) {
  const params = { threshold: k, participants: ids.length };
  const r1 = ids.map((id) => dkgRound1(suite, id, params));
  const others = (i: number): DkgRound1Package[] => r1.filter((_, j) => j !== i).map((x) => x.round1);
  const r2 = r1.map((x, i) => dkgRound2(x.state, others(i)));
  const toMember0: DkgRound2Package[] = r2.slice(1).map((pkgs) => pkgs.find((p) => p.recipient === ids[0])!);
  return { params, r1, others, state0AfterRound2: encodeDkgState(r1[0]!.state), toMember0 };
}

export async function measureCryptoCosts(n: number, k: number): Promise<{ baseMs: number; steps: StepCost[] }> {
  const ids = Array.from({ length: n }, (_, i) => identifierForPosition(i));
  const steps: StepCost[] = [];
  const add = (st: Omit<StepCost, 'ratio'>) => { steps.push({ ...st, ratio: st.ms / lastBaseMs }); };
  const others = n - 1;

  const baseMs = await cpuLoop(baseMultiply, 50, 300);

  const fx = { derivation: dkgFixture('derivation', ids, k), signing: dkgFixture('signing', ids, k) };
  for (const suite of ['derivation', 'signing'] as const) {
    const f = fx[suite];
    add({ step: `dkgRound1 (${suite})`, ms: await cpuPerCall(() => dkgRound1(suite, ids[0]!, f.params)), perMember: 1,
      note: `${k} commitments + proof of knowledge` });
    add({
      step: `dkgRound2 (${suite})`,
      ms: await cpuPerCallWithSetup(() => dkgRound1(suite, ids[0]!, f.params).state, (s: DkgState) => dkgRound2(s, f.others(0)), 5),
      perMember: 1, note: `${others} proofs of knowledge checked in one batch (vss.ts; one by one only to blame)`,
    });
    add({
      step: `dkgRound3 (${suite})`,
      ms: await cpuPerCallWithSetup(() => decodeDkgState(f.state0AfterRound2),
        (s: DkgState) => dkgRound3(s, f.others(0), f.toMember0), 3),
      perMember: 1, note: `${others} shares checked against ${k} commitments in one batch + ${n} verifying shares (identifiers 1..n)`,
    });
  }
  const stateJson = JSON.stringify({ derivation: fx.derivation.state0AfterRound2, signing: fx.signing.state0AfterRound2 });
  add({
    step: 'decodeDkgState x2 (loadLocal after round 2)',
    ms: await cpuPerCall(() => { const o = JSON.parse(stateJson) as { derivation: unknown; signing: unknown }; decodeDkgState(o.derivation); decodeDkgState(o.signing); }),
    perMember: 1, note: `${others}x${k} round-1 points per suite, from the decoded-point cache`,
  });
  const r1json = JSON.stringify(encodeDkgRound1(fx.derivation.r1[1]!.round1));
  add({ step: 'decodeDkgRound1', ms: await cpuPerCall(() => decodeDkgRound1(JSON.parse(r1json)), 20), perMember: 4 * others,
    note: `${k + 1} points (decompressed once, then cached); collectRound1 and collectRound2 decode each sender's 2 packages` });

  // DKG output packages, as localRoster()/memberKeys() decode them from SQLite.
  const params = fx.signing.params;
  const keyState = decodeDkgState(fx.signing.state0AfterRound2);
  const key: KeyPackage = dkgRound3(keyState, fx.signing.others(0), fx.signing.toMember0);
  const pubJson = JSON.stringify(encodePublicKeyPackage(publicPackage(key)));
  const keyJson = JSON.stringify(encodeKeyPackage(key));
  add({ step: 'decodePublicKeyPackage', ms: await cpuPerCall(() => decodePublicKeyPackage(JSON.parse(pubJson)), 20),
    note: `${n + k} point decompressions; publicKeys() decodes 2 per localRoster()` });
  add({ step: 'decodeKeyPackage', ms: await cpuPerCall(() => decodeKeyPackage(JSON.parse(keyJson)), 20),
    note: 'memberKeys() decodes 2 per FrostCommit / FrostSign served' });
  void params;

  const t = generateTransportKeyPair();
  const share = new Uint8Array(300);
  const sealed = await sealToPeer(t.publicKey, 'ceremony/genesis-1/round2/a/b', share);
  add({ step: 'sealToPeer (HPKE)', ms: await cpuPerCall(() => sealToPeer(t.publicKey, 'ceremony/genesis-1/round2/a/b', share), 20), perMember: others,
    note: 'one round-2 share bundle per other member' });
  add({ step: 'openFromPeer (HPKE)', ms: await cpuPerCall(() => openFromPeer(t.secretKey, 'ceremony/genesis-1/round2/a/b', sealed), 20), perMember: others,
    note: 'one per received bundle' });

  const id = generateIdentityKey();
  const msg = new Uint8Array(600);
  const sig = signTagged(id.secretKey, 'ceremony-message', msg);
  add({ step: 'signTagged (BIP340)', ms: await cpuPerCall(() => signTagged(id.secretKey, 'ceremony-message', msg), 20), perMember: 2 + others,
    note: 'round-1 broadcast, one per round-2 bundle, the outcome' });
  add({ step: 'verifyTagged (BIP340)', ms: await cpuPerCall(() => verifyTagged(id.publicKey, 'ceremony-message', msg, sig), 20), perMember: 3 * others,
    note: 'each received round-1, round-2 and outcome message' });

  // A signed call: what the caller spends per peer RPC, and what the server spends (signature check and
  // the in-memory replay registry).
  {
    const nonces = new NonceRegistry(60_000, Date.now() - 1000);
    const pub = identityPublicKey(id.secretKey);
    const method = '/gatekeeper.v1.PeerService/GetCeremonyMessage';
    const req = new Uint8Array([8, 1]);
    add({ step: 'signCall (caller of one peer RPC)', ms: await cpuPerCall(() => signCall('peer', id.secretKey, method, req, Date.now(), pub), 20),
      note: 'BIP340 sign; one per fetch round or fan-out, whatever the number of members' });
    add({
      step: 'verifyCall (server of one peer RPC)',
      ms: await cpuPerCall(() => verifyCall('peer', signCall('peer', id.secretKey, method, req, Date.now(), pub), method, req, nonces, 60_000), 20)
        - steps[steps.length - 1]!.ms,
      note: 'BIP340 verify + the replay registry lookup',
    });
  }
  return { baseMs, steps };
}
