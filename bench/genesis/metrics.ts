// Scrapes one node's Prometheus endpoint: prom-client's process CPU counters and the per-method RPC
// counter, so a member's CPU and the calls it served can be measured from outside its process.
import http from 'node:http';

export interface Scrape {
  /** process_cpu_user_seconds_total + process_cpu_system_seconds_total, in seconds. */
  cpu: number;
  user: number;
  system: number;
  /** gatekeeper_rpc_total by "Service/Method code". */
  rpc: Map<string, number>;
  /** process.hrtime of the bench when the answer arrived (ns). */
  at: bigint;
}

/** The text of one node's GET /metrics. */
export function get(hostPort: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${hostPort}/metrics`, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${hostPort}: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${hostPort}: metrics timed out`)));
    req.on('error', reject);
  });
}

export async function scrape(hostPort: string): Promise<Scrape> {
  const text = await get(hostPort);
  const at = process.hrtime.bigint();
  const value = (name: string): number => {
    const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
    if (!m) throw new Error(`${hostPort}: no ${name} in /metrics`);
    return Number(m[1]);
  };
  const rpc = new Map<string, number>();
  for (const m of text.matchAll(/^gatekeeper_rpc_total\{([^}]*)\} ([0-9.eE+-]+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    const method = (labels.method ?? '?').replace(/^\/gatekeeper\.v1\./, '');
    rpc.set(`${method} ${labels.code ?? '?'}`, Number(m[2]));
  }
  const user = value('process_cpu_user_seconds_total');
  const system = value('process_cpu_system_seconds_total');
  return { cpu: user + system, user, system, rpc, at };
}

/** Counter increments between two scrapes of the same node. */
export function rpcDelta(before: Scrape, after: Scrape): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after.rpc) {
    const d = v - (before.rpc.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}
