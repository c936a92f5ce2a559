// devnet.json names what an operator needs to drive a devnet with the CLI: the operator and governance
// key files (as --operator-key / --governance-key take them), each node's metrics endpoint, and the
// development test PKI. Checked on a created (not started) devnet: no node process is needed.
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Devnet } from '../../src/devnet/devnet.js';
import { identityPublicKey } from '../../src/crypto/identity.js';
import { tempDir } from '../helpers/node.js';
import { runCommand } from '../helpers/cli.js';
import keysCommand from '../../src/cli/commands/keys.js';

describe('devnet.json', () => {
  test('names the key files, the metrics endpoints and the test PKI, and they work with the CLI', async () => {
    const dir = path.join(tempDir('devnet-manifest'), 'net');
    const devnet = new Devnet({ dir, nodes: 2, threshold: 2 });
    await devnet.create();
    const file = devnet.writeManifest({ epoch: 1, threshold: 2, committeeKey: new Uint8Array(32), masterPublicKey: new Uint8Array(33), members: [], certificates: [] });
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      operatorKeyFile: string; governanceKeyFiles: string[]; governanceThreshold: number; testPkiFile: string; testRootFile: string;
      nodes: { config: string; metrics: string }[];
    };
    const config = JSON.parse(fs.readFileSync(m.nodes[0]!.config, 'utf8')) as { operatorKeys: string[]; governance: { keys: string[] }; metricsListen: string };
    // The key files hold the secrets of the keys the nodes trust; `keys public` reads them.
    expect(fs.statSync(m.operatorKeyFile).mode & 0o777).toBe(0o600);
    const pub = await runCommand(keysCommand, ['public', '--key', m.operatorKeyFile]);
    expect(pub.out.trim()).toBe(config.operatorKeys[0]);
    expect(m.governanceKeyFiles.map((f) => bytesToHex(identityPublicKey(Buffer.from(fs.readFileSync(f, 'utf8').trim(), 'hex'))))).toEqual(config.governance.keys);
    expect(m.governanceThreshold).toBe(2);
    expect(m.nodes.map((n) => n.metrics)).toEqual(devnet.nodes.map((n) => `http://${n.metricsEndpoint}/metrics`));
    expect(m.nodes[0]!.metrics).toBe(`http://${config.metricsListen}/metrics`);
    expect(JSON.parse(fs.readFileSync(m.testPkiFile, 'utf8')).format).toBe('gatekeeper-development-test-pki/1');
    expect(fs.existsSync(m.testRootFile)).toBe(true);
    // A second devnet in the same folder accepts the key files as its own entries and replaces them.
    const before = fs.readFileSync(m.operatorKeyFile, 'utf8');
    await new Devnet({ dir, nodes: 2, threshold: 2 }).create();
    expect(fs.readFileSync(m.operatorKeyFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(fs.readFileSync(m.operatorKeyFile, 'utf8')).not.toBe(before);
  });
});
