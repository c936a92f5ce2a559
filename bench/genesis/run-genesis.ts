// One genesis on a loopback devnet, measured from outside the node processes: each member's CPU
// seconds (prom-client counters scraped just before SubmitGenesis and again as soon as that member
// reports COMPLETE) and the wall time from SubmitGenesis to the last COMPLETE. Start-up and unseal
// are outside the window.
import fs from 'node:fs';
import path from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Devnet, sleep } from '../../src/devnet/devnet.js';
import { rpcDelta, scrape, type Scrape } from './metrics.js';

export interface MemberResult {
  name: string;
  /** CPU ms (user + system) from just before SubmitGenesis to this member's COMPLETE. */
  cpuMs: number;
  userMs: number;
  systemMs: number;
  /** Wall ms from SubmitGenesis to this member's COMPLETE (as seen by 250 ms status polling). */
  completeMs: number;
  /** CPU and wall ms up to the first status poll that saw this member KEYED (DKG done, certificate next). */
  keyedCpuMs: number;
  keyedMs: number;
  /** CPU ms per wall second while unsealed and idle, before the ceremony. */
  idleCpuMsPerS: number;
  /** Peer RPCs this member served, "Service/Method code" → count, up to the last member's COMPLETE. */
  served: Map<string, number>;
  profiled: boolean;
}

export interface GenesisResult {
  n: number;
  k: number;
  wallMs: number;
  members: MemberResult[];
  /** Set when the members do not all hold the same committee and certificate (checkCommittee failed). */
  committeeProblem: string | undefined;
  /**
   * CPU ms of one secp256k1 base multiplication in this process just before SubmitGenesis (every node
   * idle) and just after the last COMPLETE: how fast this shared machine was during the run.
   */
  baseMs: { before: number; after: number };
  /** hrtime window (ns) of the profiled member's ceremony, and its .cpuprofile file. */
  profile?: { file: string; fromNs: bigint; toNs: bigint };
}


const nsToMs = (ns: bigint) => Number(ns) / 1e6;

/** CPU ms per Point.BASE.multiply in this process (after a warm-up), over at least 300 ms of CPU. */
export function baseMultiplyMs(): number {
  const one = () => secp256k1.Point.BASE.multiply(secp256k1.Point.Fn.fromBytes(secp256k1.utils.randomSecretKey()));
  for (let i = 0; i < 20; i++) one();
  const c0 = process.cpuUsage();
  let runs = 0;
  let spent = 0;
  while (spent < 300) {
    one();
    runs++;
    const c = process.cpuUsage(c0);
    spent = (c.user + c.system) / 1000;
  }
  return spent / runs;
}

export async function runGenesis(opts: { n: number; k: number; dir: string; profileIndex?: number; log: (s: string) => void }): Promise<GenesisResult> {
  const { n, k, dir, log } = opts;
  const profDir = path.join(dir, 'profiles');
  const devnet = new Devnet({ dir, nodes: n, threshold: k, phaseTimeoutMs: 120_000 });
  try {
    await devnet.create();
    fs.mkdirSync(profDir, { recursive: true });
    await Promise.all(devnet.nodes.map((_, i) => (devnet.startNode(i, i === opts.profileIndex ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []))));
    await Promise.all(devnet.nodes.map((_, i) => devnet.unseal(i)));
    const snapshot = await devnet.genesisSnapshot(1, n, k);
    const endpoints = devnet.nodes.map((x) => x.metricsEndpoint);

    // Idle cost of an unsealed node (the 150 ms ceremony timer with nothing to do), for reference.
    const idle0 = await Promise.all(endpoints.map(scrape));
    await sleep(2000);
    const idle1 = await Promise.all(endpoints.map(scrape));

    const baseBefore = baseMultiplyMs();
    const before = await Promise.all(endpoints.map(scrape));
    const t0 = process.hrtime.bigint();
    // On a loaded machine the forwarding call itself can outlive the client's 10 s deadline (n elections
    // in worker threads share the cores): then every node gets the snapshot directly, as below.
    const res = await devnet.operatorCall<{ forwardErrors: string[] }>(0, 'SubmitGenesis', { snapshot, forward: true }, 60_000)
      .catch((err: unknown) => ({ forwardErrors: [`SubmitGenesis: ${err instanceof Error ? err.message : String(err)}`] }));
    log(`  n=${n}: SubmitGenesis answered after ${nsToMs(process.hrtime.bigint() - t0).toFixed(0)} ms`);
    if (res.forwardErrors.length) {
      // On a loaded machine an OfferSnapshot can outlive its 5 s deadline; submitting the same snapshot
      // to every node again is idempotent and makes sure each one has it.
      log(`  n=${n}: ${res.forwardErrors.length} forwards failed (${res.forwardErrors[0]!.slice(0, 60)}...); submitting to every node directly`);
      await Promise.all(devnet.nodes.map((_, i) => devnet.operatorCall(i, 'SubmitGenesis', { snapshot, forward: false }, 60_000)));
    }

    const done: (Scrape | undefined)[] = new Array(n).fill(undefined);
    const keyed: (Scrape | undefined)[] = new Array(n).fill(undefined);
    const deadline = Date.now() + 150_000;
    while (done.some((d) => !d)) {
      await Promise.all(devnet.nodes.map(async (_, i) => {
        if (done[i]) return;
        const s = await devnet.status(i).catch(() => undefined);
        if (s?.ceremonyState === 'ABORTED') throw new Error(`node-${i + 1} aborted: ${s.ceremonyError}`);
        if (s?.ceremonyState === 'KEYED' && !keyed[i]) keyed[i] = await scrape(endpoints[i]!);
        if (s?.ceremonyState === 'COMPLETE') {
          done[i] = await scrape(endpoints[i]!);
          keyed[i] ??= done[i];
        }
      }));
      if (Date.now() > deadline) throw new Error(`n=${n}: the committee did not form within 150 s`);
      // Status calls cost the members a little CPU too; 250 ms keeps that small.
      if (done.some((d) => !d)) await sleep(250);
    }
    const t1 = done.reduce((m, d) => (d!.at > m ? d!.at : m), t0);
    const after = await Promise.all(endpoints.map(scrape));
    const baseAfter = baseMultiplyMs();
    let committeeProblem: string | undefined;
    try {
      await devnet.checkCommittee();
    } catch (err) {
      // Report, do not hide: which members hold which roster certificate signature.
      const views = await Promise.all(devnet.nodes.map((_, i) => devnet.committee(i)));
      const groups = new Map<string, string[]>();
      for (const [i, v] of views.entries()) {
        const c = v.certificates[v.certificates.length - 1];
        const key = c ? Buffer.from(c.signature).toString('hex').slice(0, 16) : 'none';
        groups.set(key, [...(groups.get(key) ?? []), `#${i + 1}`]);
      }
      committeeProblem = `${err instanceof Error ? err.message : String(err)}; certificate signatures held: `
        + [...groups.entries()].map(([sig, who]) => `${sig}.. by ${who.join(' ')}`).join('; ');
    }

    const members = devnet.nodes.map((node, i): MemberResult => {
      const b = before[i]!;
      const d = done[i]!;
      return {
        name: node.name,
        cpuMs: (d.cpu - b.cpu) * 1000,
        userMs: (d.user - b.user) * 1000,
        systemMs: (d.system - b.system) * 1000,
        completeMs: nsToMs(d.at - t0),
        keyedCpuMs: (keyed[i]!.cpu - b.cpu) * 1000,
        keyedMs: nsToMs(keyed[i]!.at - t0),
        idleCpuMsPerS: ((idle1[i]!.cpu - idle0[i]!.cpu) * 1000) / (nsToMs(idle1[i]!.at - idle0[i]!.at) / 1000),
        served: new Map([...rpcDelta(b, after[i]!)].filter(([key]) => key.startsWith('PeerService/'))),
        profiled: i === opts.profileIndex,
      };
    });
    const result: GenesisResult = { n, k, wallMs: nsToMs(t1 - t0), members, committeeProblem, baseMs: { before: baseBefore, after: baseAfter } };
    await devnet.stop();
    if (opts.profileIndex !== undefined) {
      const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error('the profiled node wrote no .cpuprofile');
      result.profile = { file: path.join(profDir, file), fromNs: t0, toNs: done[opts.profileIndex]!.at };
    }
    return result;
  } finally {
    await devnet.stop();
  }
}
