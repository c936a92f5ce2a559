// `gatekeeper audit verify --config FILE`: walks a node's audit chain (node stopped or running).
import { bytesToHex } from '@noble/hashes/utils.js';
import Database from 'better-sqlite3';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { ConfigError, databaseFile, loadConfig } from '../../node/config.js';
import { allAuditEntries, verifyAuditChain } from '../../audit/log.js';

const command: Command = {
  summary: 'verify a node\'s hash-chained audit log',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean' } });
    if (values.help || positionals[0] !== 'verify') {
      process.stdout.write('usage: gatekeeper audit verify (--config FILE | --db FILE)\n');
      return values.help ? 0 : 2;
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
      if (r.ok) { process.stdout.write(`audit log intact: ${r.entries} entries, head ${bytesToHex(r.head)}\n`); return 0; }
      process.stdout.write(`audit log BROKEN at entry ${r.seq}: ${r.error}\n`);
      return 1;
    } finally {
      db.close();
    }
  },
};
export default command;
