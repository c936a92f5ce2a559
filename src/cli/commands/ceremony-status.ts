// `gatekeeper ceremony status --endpoint HOST:PORT [...] [--epoch N] [--watch]`: asks each node
// (operator-signed OperatorService.CeremonyStatus) how it sees a ceremony: kind, state, phase, which
// members' messages of the phase it holds, whom it awaits, the seconds left before the phase's
// deadline (by the node's own clock) and the error of an aborted one. --watch polls until every node
// asked is COMPLETE or ABORTED: one line per node redrawn in place on a terminal, a plain line per
// change otherwise (JSON lines with --json).
import { parseCommandArgs, UsageError } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { fanOut, type MemberResult } from '../fanout.js';

export const CEREMONY_STATUS_USAGE = `usage: gatekeeper ceremony status --endpoint HOST:PORT [--endpoint ...] [--epoch N] [--watch]
                                  [--interval-ms MS] [--timeout SECONDS] [--operator-key FILE] [--json] ${TLS_USAGE}

  --epoch     the ceremony's epoch (default 0: the newest each node knows; --watch then waits for a
              node still on an older one)
  --watch     poll until every node asked reports COMPLETE or ABORTED (one line per node, redrawn on
              a terminal; a line per change otherwise; JSON lines with --json)
  --interval-ms  time between polls (default 1000); --timeout gives up after SECONDS (default: never)

Each row: kind, epoch, state and phase, the members whose message of the phase the node holds
(answered n/m) and those it awaits (node id prefixes), the seconds left before the phase's deadline
(by the node's clock), and why it aborted.
exit status: 0 every node answered and none is ABORTED (with --watch: every node COMPLETE),
             1 a node refused, could not be reached, or reports ABORTED; 2 bad usage`;

export interface CeremonyStatusRes {
  epoch: number; kind: string; state: string; phase: string; deadlineMs: string; nowMs: string;
  answered: string[]; awaited: string[]; error: string; threshold: number; members: string[];
}

/** Errors that polling again will not change. */
const PERMANENT = new Set(['PERMISSION_DENIED', 'UNAUTHENTICATED', 'INVALID_ARGUMENT', 'UNIMPLEMENTED']);

const isTerminal = (r: MemberResult<CeremonyStatusRes>) => r.ok && (r.answer!.state === 'COMPLETE' || r.answer!.state === 'ABORTED');

/** Seconds left before the phase's deadline, by the node's clock (no clock skew between CLI and node). */
export function secondsLeft(a: CeremonyStatusRes): number | undefined {
  if (a.deadlineMs === '0' || a.deadlineMs === '') return undefined;
  return Math.ceil((Number(a.deadlineMs) - Number(a.nowMs)) / 1000);
}

/** One line for one node's answer (or its error). */
export function describeRow(r: MemberResult<CeremonyStatusRes>, withDeadline = true): string {
  if (!r.ok) return `FAILED ${r.code}: ${r.error}`;
  const a = r.answer!;
  const parts = [`${a.kind} epoch ${a.epoch}`, a.state];
  if (a.phase && a.phase !== a.state) parts.push(`phase ${a.phase}`);
  if (a.phase) {
    const others = a.answered.length + a.awaited.length;
    if (others > 0) parts.push(`answered ${a.answered.length}/${others}`);
    if (a.awaited.length) parts.push(`awaiting ${a.awaited.map((id) => id.slice(0, 8)).join(',')}`);
    const left = secondsLeft(a);
    if (left !== undefined && withDeadline) parts.push(left >= 0 ? `deadline in ${left}s` : `deadline passed ${-left}s ago`);
  }
  if (a.threshold) parts.push(`k=${a.threshold} of ${a.members.length}`);
  if (a.error) parts.push(`error: ${a.error.slice(0, 300)}`);
  return parts.join('  ');
}

function jsonRow(r: MemberResult<CeremonyStatusRes>) {
  if (!r.ok) return { endpoint: r.endpoint, ok: false, code: r.code, error: r.error };
  const a = r.answer!;
  return {
    endpoint: r.endpoint, ok: true, epoch: a.epoch, kind: a.kind, state: a.state, phase: a.phase, answered: a.answered, awaited: a.awaited,
    secondsLeft: secondsLeft(a) ?? null, error: a.error, threshold: a.threshold, members: a.members,
  };
}

function table(rows: MemberResult<CeremonyStatusRes>[]): string[] {
  const width = Math.max(8, ...rows.map((r) => r.endpoint.length));
  return rows.map((r) => `${r.endpoint.padEnd(width)}  ${describeRow(r)}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCeremonyStatus(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    endpoint: { type: 'string', multiple: true }, epoch: { type: 'string' }, watch: { type: 'boolean' }, 'interval-ms': { type: 'string' },
    timeout: { type: 'string' }, 'operator-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
  });
  if (values.help || positionals[0] !== 'status' || positionals.length !== 1) {
    process.stdout.write(CEREMONY_STATUS_USAGE + '\n');
    return values.help ? 0 : 2;
  }
  const endpoints = values.endpoint ?? [];
  if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required (repeat it to ask several nodes)');
  const epoch = values.epoch === undefined ? 0 : Number(values.epoch);
  if (!/^(0|[1-9][0-9]{0,9})$/.test(values.epoch ?? '0') || epoch > 0xffffffff) throw new UsageError('--epoch must be 0 (the newest) or an epoch number');
  const intervalMs = Number(values['interval-ms'] ?? '1000');
  if (!Number.isInteger(intervalMs) || intervalMs < 50 || intervalMs > 600_000) throw new UsageError('--interval-ms must be an integer from 50 to 600000');
  const timeoutS = values.timeout === undefined ? 0 : Number(values.timeout);
  if (!Number.isInteger(timeoutS) || timeoutS < 0 || timeoutS > 86_400 * 7) throw new UsageError('--timeout must be a whole number of seconds');
  const ask = () => fanOut<CeremonyStatusRes>(endpoints, 'CeremonyStatus', { epoch }, values, { timeoutMs: values.watch ? 5000 : 15_000 });

  if (!values.watch) {
    const rows = await ask();
    if (values.json) process.stdout.write(JSON.stringify({ ok: rows.every((r) => r.ok), members: rows.map(jsonRow) }) + '\n');
    else process.stdout.write(`${'MEMBER'.padEnd(Math.max(8, ...endpoints.map((e) => e.length)))}  CEREMONY\n${table(rows).join('\n')}\n`);
    return rows.every((r) => r.ok && r.answer!.state !== 'ABORTED') ? 0 : 1;
  }

  const tty = !values.json && process.stdout.isTTY === true;
  const deadline = timeoutS ? Date.now() + timeoutS * 1000 : Infinity;
  let drawn = 0;
  let last: string[] = [];
  for (;;) {
    const rows = await ask();
    const lines = table(rows);
    if (values.json) {
      const line = JSON.stringify({ members: rows.map(jsonRow) });
      if (line !== last[0]) process.stdout.write(line + '\n');
      last = [line];
    } else if (tty) {
      // Redraw in place: up over the previous frame, clear each line, write the new one.
      process.stdout.write((drawn ? `\x1b[${drawn}A` : '') + lines.map((l) => `\x1b[2K${l}\n`).join(''));
      drawn = lines.length;
    } else {
      // A line when a node's view changed (not merely its countdown).
      const keys = rows.map((r) => `${r.endpoint} ${describeRow(r, false)}`);
      lines.forEach((l, i) => { if (keys[i] !== last[i]) process.stdout.write(`${l}\n`); });
      last = keys;
    }
    // With --epoch 0 each node answers its newest: one still on an older, finished ceremony has not
    // joined the newest yet, so it is waited for.
    const newest = Math.max(0, ...rows.map((r) => (r.ok ? r.answer!.epoch : 0)));
    const done = rows.every((r) => (isTerminal(r) && r.answer!.epoch === newest) || (!r.ok && PERMANENT.has(r.code ?? '')));
    if (done) {
      const complete = rows.every((r) => r.ok && r.answer!.state === 'COMPLETE');
      if (!complete && !values.json) {
        for (const r of rows.filter((x) => !(x.ok && x.answer!.state === 'COMPLETE'))) {
          process.stderr.write(`gatekeeper ceremony status: ${r.endpoint}: ${r.ok ? `ABORTED: ${r.answer!.error.slice(0, 300)}` : r.error}\n`);
        }
      }
      return complete ? 0 : 1;
    }
    if (Date.now() + intervalMs > deadline) {
      process.stderr.write(`gatekeeper ceremony status: not every node is COMPLETE or ABORTED after ${timeoutS} s\n`);
      return 1;
    }
    await sleep(intervalMs);
  }
}
