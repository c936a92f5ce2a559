// Exponential backoff shared by every retry loop (SDK failover and retries, peer health, the key outbox).

/** The wait after failure number `attempt` (0 = the first): baseMs · 2^attempt, at most maxMs. */
export function exponentialBackoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 20));
}
