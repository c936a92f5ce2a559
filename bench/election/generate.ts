// Seeded random election instances for the benchmark (SplitMix64, like the fixtures' generator):
// candidate popularity follows a Zipf(0.8) law, stakes are log-uniform in [1e10, 1e15].
import type { ElectionInput, ElectionVoter } from '../../src/election/types.js';

/** SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded 64-bit generator. */
export class SplitMix64 {
  private state: bigint;
  constructor(seed: bigint) { this.state = BigInt.asUintN(64, seed); }
  nextU64(): bigint {
    this.state = BigInt.asUintN(64, this.state + 0x9e3779b97f4a7c15n);
    let z = this.state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
  /** Uniform in [0, 1) with 53 bits. */
  nextFloat(): number { return Number(this.nextU64() >> 11n) / 2 ** 53; }
  nextInt(n: number): number { return Math.floor(this.nextFloat() * n); }
}

export interface InstanceParams {
  seed: bigint;
  candidates: number;
  voters: number;
  seats: number;
  /** Exact votes per voter, or undefined for uniform in [1, maxVotes]. */
  fixedVotes?: number;
  maxVotes: number;
  selfVotes: boolean;
}

export function randomInstance(p: InstanceParams): ElectionInput {
  const rng = new SplitMix64(p.seed);
  const candidates = Array.from({ length: p.candidates }, (_, i) => String(i + 1));
  const cumulative: number[] = [];
  let acc = 0;
  for (let i = 0; i < p.candidates; i++) { acc += 1 / (i + 1) ** 0.8; cumulative.push(acc); }
  const pick = (): number => {
    const x = rng.nextFloat() * acc;
    let lo = 0, hi = cumulative.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cumulative[mid]! < x) lo = mid + 1; else hi = mid; }
    return lo;
  };
  const stake = (): bigint => BigInt(Math.floor(10 ** (10 + 5 * rng.nextFloat())));
  const voters: ElectionVoter[] = [];
  if (p.selfVotes) for (const c of candidates) voters.push({ id: c, stake: stake(), targets: [c] });
  for (let i = 0; i < p.voters; i++) {
    const k = Math.min(p.fixedVotes ?? 1 + rng.nextInt(p.maxVotes), p.candidates);
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(pick());
    voters.push({ id: String(1_000_000 + i), stake: stake(), targets: [...chosen].map((c) => candidates[c]!) });
  }
  return { seats: p.seats, candidates, voters, idKind: 'number' };
}
