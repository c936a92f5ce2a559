// Waits on a fan-out only as long as it must (issue 12, item 1; docs/provisioning.md "When the fan-out
// returns"): it settles once `need` attempts succeeded and then either one more succeeded or a grace
// period passed, once `need` can no longer be reached, or once every attempt settled. The caller
// cancels what is still running.

export interface QuorumOptions {
  /** Successes needed. */
  need: number;
  /** Grace after the need-th success: the longer of minGraceMs and the time the need-th took, at most maxGraceMs. */
  minGraceMs?: number;
  maxGraceMs?: number;
  now?: () => number;
}

export interface QuorumResult<T, M> {
  ok: { member: M; value: T }[];
  failed: { member: M; error: unknown }[];
  /** Members still running when the wait ended (the caller cancels them). */
  pending: M[];
}

export function gatherQuorum<T, M>(attempts: { member: M; p: Promise<T> }[], o: QuorumOptions): Promise<QuorumResult<T, M>> {
  const now = o.now ?? Date.now;
  const started = now();
  const ok: QuorumResult<T, M>['ok'] = [];
  const failed: QuorumResult<T, M>['failed'] = [];
  const open = new Set(attempts.map((_, i) => i));
  return new Promise((resolve) => {
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      if (grace) clearTimeout(grace);
      resolve({ ok: [...ok], failed: [...failed], pending: [...open].map((i) => attempts[i]!.member) });
    };
    const check = () => {
      if (open.size === 0 || ok.length > o.need || ok.length + open.size < o.need) { finish(); return; }
      if (ok.length === o.need && !grace) {
        const took = now() - started;
        const ms = Math.min(o.maxGraceMs ?? 2000, Math.max(o.minGraceMs ?? 200, took));
        grace = setTimeout(finish, ms);
      }
    };
    attempts.forEach(({ member, p }, i) => {
      p.then((value) => { if (done) return; open.delete(i); ok.push({ member, value }); check(); },
        (error: unknown) => { if (done) return; open.delete(i); failed.push({ member, error }); check(); });
    });
    check();
  });
}
