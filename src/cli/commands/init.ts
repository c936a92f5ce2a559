// `gatekeeper init --config FILE`: creates the node's keys and prints its unseal shares, once.
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { ConfigError, databaseFile, loadConfig } from '../../node/config.js';
import { DatabasePermissionError, openDatabase } from '../../store/database.js';
import { initKeystore, KeystoreError } from '../../node/keystore.js';
import { AuditLog } from '../../audit/log.js';

const command: Command = {
  summary: 'create a node\'s keys and split its unseal key among operators',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      config: { type: 'string' }, 'shares-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    });
    if (values.help) {
      process.stdout.write([
        'usage: gatekeeper init --config FILE [--shares-dir DIR] [--json]',
        '',
        'Creates the identity and transport keys and the data key, and splits the unseal key into the',
        'configured number of shares. The shares are printed (or written one file each, mode 0600, to',
        '--shares-dir) exactly once: give one to each operator. They are never stored by the node.',
        '',
      ].join('\n'));
      return 0;
    }
    let config;
    try { config = loadConfig(requireOption(values, 'config')); } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    let db;
    try { db = openDatabase(databaseFile(config)); } catch (err) {
      if (err instanceof DatabasePermissionError) throw new UsageError(err.message);
      throw err;
    }
    try {
      const { public: pub, unsealShares } = await initKeystore(db, config.unseal);
      new AuditLog(db).append('operator', 'initialized', { nodeId: bytesToHex(pub.nodeId), unsealShares: config.unseal.shares, unsealThreshold: config.unseal.threshold });
      const sharesDir = values['shares-dir'];
      if (sharesDir) {
        fs.mkdirSync(sharesDir, { recursive: true, mode: 0o700 });
        unsealShares.forEach((s, i) => fs.writeFileSync(path.join(sharesDir, `unseal-share-${i + 1}.txt`), s + '\n', { mode: 0o600, flag: 'wx' }));
      }
      const summary = {
        nodeId: bytesToHex(pub.nodeId), identityKey: bytesToHex(pub.identityKey), transportKey: bytesToHex(pub.transportKey),
        unsealThreshold: pub.unsealThreshold, unsealShares: sharesDir ? undefined : unsealShares,
      };
      if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        process.stdout.write(`node id       ${summary.nodeId}\nidentity key  ${summary.identityKey}\ntransport key ${summary.transportKey}\n\n`);
        if (sharesDir) process.stdout.write(`${unsealShares.length} unseal shares written to ${sharesDir}; any ${pub.unsealThreshold} unseal the node.\n`);
        else {
          unsealShares.forEach((s, i) => process.stdout.write(`unseal share ${i + 1}: ${s}\n`));
          process.stdout.write(`\nAny ${pub.unsealThreshold} of these shares unseal the node. They are shown once and never stored.\n`);
        }
        process.stdout.write('Next: start the node (gatekeeper node --config FILE), then gatekeeper unseal.\n');
      }
      return 0;
    } catch (err) {
      if (err instanceof KeystoreError) { process.stderr.write(`gatekeeper init: ${err.message}\n`); return 1; }
      throw err;
    } finally {
      db.close();
    }
  },
};
export default command;
