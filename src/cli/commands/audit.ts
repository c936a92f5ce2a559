// `gatekeeper audit verify --config FILE`: walks a node's audit chain (node stopped or running).
// `gatekeeper audit read --endpoint HOST:PORT`: reads a running node's log as an operator.
import { bytesToHex } from '@noble/hashes/utils.js';
import Database from 'better-sqlite3';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { ConfigError, databaseFile, loadConfig } from '../../node/config.js';
import { allAuditEntries, verifyAuditChain } from '../../audit/log.js';
import { clientFor, TLS_OPTIONS, TLS_USAGE, withNode } from '../client-options.js';
import { loadOperatorKey } from '../operator-key.js';

interface AuditEntryRes { seq: string; timeMs: string; actor: string; action: string; detailJson: string }

async function readRemote(endpoint: string, values: Record<string, unknown>, after: string, limit: number): Promise<number> {
  const key = loadOperatorKey(values['operator-key'] as string | undefined);
  return withNode('audit read', clientFor(endpoint, values), async (client) => {
    const res = await client.call<{ entries: AuditEntryRes[] }>('OperatorService', 'ReadAudit', { afterSeq: after, limit },
      { sign: { role: 'operator', secretKey: key } });
    if (values.json) {
      process.stdout.write(JSON.stringify({ entries: res.entries.map((e) => ({ seq: Number(e.seq), time: new Date(Number(e.timeMs)).toISOString(), actor: e.actor, action: e.action, detail: JSON.parse(e.detailJson) as unknown })) }) + '\n');
      return 0;
    }
    for (const e of res.entries) {
      process.stdout.write(`${e.seq.padStart(6)} ${new Date(Number(e.timeMs)).toISOString()} ${e.actor} ${e.action} ${e.detailJson}\n`);
    }
    return 0;
  });
}

const command: Command = {
  summary: 'verify a node\'s hash-chained audit log',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      config: { type: 'string' }, db: { type: 'string' }, endpoint: { type: 'string' }, 'operator-key': { type: 'string' },
      after: { type: 'string', default: '0' }, limit: { type: 'string', default: '100' }, json: { type: 'boolean' }, help: { type: 'boolean' }, ...TLS_OPTIONS,
    });
    if (values.help || (positionals[0] !== 'verify' && positionals[0] !== 'read')) {
      process.stdout.write([
        'usage: gatekeeper audit verify (--config FILE | --db FILE)',
        '       gatekeeper audit read --endpoint HOST:PORT [--operator-key FILE] [--after SEQ] [--limit N] [--json]',
        '',
      ].join('\n'));
      return values.help ? 0 : 2;
    }
    if (positionals[0] === 'read') {
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be from 1 to 1000');
      if (!/^[0-9]+$/.test(values.after!)) throw new UsageError('--after must be a sequence number');
      return readRemote(requireOption(values, 'endpoint'), values, values.after!, limit);
    }
    let file = values.db;
    if (!file) {
      try { file = databaseFile(loadConfig(requireOption(values, 'config'))); } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
    }
    let db;
    try { db = new Database(file, { readonly: true, fileMustExist: true }); } catch { throw new UsageError(`cannot open database ${file}`); }
    try {
      const r = verifyAuditChain(allAuditEntries(db));
      if (values.json) {
        process.stdout.write(JSON.stringify(r.ok ? { ok: true, entries: r.entries, head: bytesToHex(r.head) } : { ok: false, seq: r.seq, error: r.error }) + '\n');
        return r.ok ? 0 : 1;
      }
      if (r.ok) { process.stdout.write(`audit log intact: ${r.entries} entries, head ${bytesToHex(r.head)}\n`); return 0; }
      process.stdout.write(`audit log BROKEN at entry ${r.seq}: ${r.error}\n`);
      return 1;
    } finally {
      db.close();
    }
  },
};
export default command;
