// An in-process node on a loopback port with a real SQLite file in a temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { parseConfig, databaseFile, type NodeConfig } from '../../src/node/config.js';
import { GatekeeperNode } from '../../src/node/node.js';
import { initKeystore } from '../../src/node/keystore.js';
import { openDatabase } from '../../src/store/database.js';
import { GatekeeperClient } from '../../src/rpc/client.js';

export interface TestNode {
  node: GatekeeperNode;
  endpoint: string;
  client: GatekeeperClient;
  dir: string;
  logFile: string;
  shares: string[];
  operator: { secretKey: Uint8Array; publicKey: Uint8Array };
  governance: { secretKey: Uint8Array; publicKey: Uint8Array }[];
  stop(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gk-${prefix}-`));
}

export async function startTestNode(overrides: Partial<NodeConfig> = {}): Promise<TestNode> {
  const dir = tempDir('node');
  const operator = generateIdentityKey();
  const governance = [generateIdentityKey(), generateIdentityKey()];
  const config = parseConfig({
    name: 'test-node', listen: '127.0.0.1:0', advertise: '127.0.0.1:1', dataDir: dir,
    operatorKeys: [bytesToHex(operator.publicKey)],
    governance: { keys: governance.map((g) => bytesToHex(g.publicKey)), threshold: 2 },
    unseal: { shares: 3, threshold: 2 }, maxMessageBytes: 64 * 1024, ...overrides,
  }, dir);
  const db = openDatabase(databaseFile(config));
  const { unsealShares } = await initKeystore(db, config.unseal);
  db.close();
  const logFile = path.join(dir, 'node.log');
  const node = new GatekeeperNode(config, pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true })));
  const port = await node.start();
  const endpoint = `127.0.0.1:${port}`;
  const client = new GatekeeperClient(endpoint);
  return {
    node, endpoint, client, dir, logFile, shares: unsealShares, operator, governance,
    async stop() { client.close(); await node.stop(); },
  };
}
