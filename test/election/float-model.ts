// Test-only transcription of sp-npos-elections mock.rs `elect_float`, the f64 textbook sequential
// Phragmén that upstream's `run_and_compare` tests use as their truth value.

export interface FloatResult {
  /** (who, approval stake) in election order. */
  winners: Array<[number, number]>;
  /** Per voter, (target, ratio) for elected targets other than itself. */
  assignments: Array<[number, Array<[number, number]>]>;
}

export function elect_float(
  toElect: number, candidates: number[], voters: Array<[number, number[]]>, stakeOf: (who: number) => number,
): FloatResult {
  const idx = new Map<number, number>();
  candidates.forEach((c, i) => idx.set(c, i));
  const cs = candidates.map((who) => ({ who, score: 0, approval: 0, elected: false }));
  const vs = voters.map(([who, votes]) => {
    const budget = stakeOf(who);
    const edges: Array<{ who: number; load: number; c: number }> = [];
    for (const v of votes) {
      const i = idx.get(v);
      if (i === undefined) continue;
      cs[i]!.approval += budget;
      edges.push({ who: v, load: 0, c: i });
    }
    return { who, edges, budget, load: 0 };
  });
  const winners: Array<[number, number]> = [];
  for (let round = 0; round < Math.min(toElect, cs.length); round++) {
    for (const c of cs) if (!c.elected) c.score = 1 / c.approval;
    for (const n of vs) {
      for (const e of n.edges) {
        const c = cs[e.c]!;
        if (!c.elected && c.approval !== 0) c.score += (n.budget * n.load) / c.approval;
      }
    }
    let winner: (typeof cs)[number] | undefined;
    for (const c of cs) if (!c.elected && (winner === undefined || c.score < winner.score)) winner = c;
    if (!winner) break;
    winner.elected = true;
    for (const n of vs) {
      for (const e of n.edges) {
        if (e.who === winner.who) { e.load = winner.score - n.load; n.load = winner.score; }
      }
    }
    winners.push([winner.who, winner.approval]);
  }
  const assignments: FloatResult['assignments'] = [];
  for (const n of vs) {
    const a: Array<[number, number]> = [];
    for (const e of n.edges) {
      if (winners.some(([w]) => w === e.who) && e.who !== n.who) a.push([e.who, e.load / n.load]);
    }
    if (a.length > 0) assignments.push([n.who, a]);
  }
  return { winners, assignments };
}
