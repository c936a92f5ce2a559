// The operator commands' shared plumbing against a real node on loopback plus a member that is down:
// the per-member table and --json, exit codes 0/1/2, safe retries, governance documents signed by
// separate holders, endpoint checks and one-sentence connection errors.
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import policyCommand from '../../src/cli/commands/policy.js';
import governanceCommand from '../../src/cli/commands/governance.js';
import keysCommand from '../../src/cli/commands/keys.js';
import contractCommand from '../../src/cli/commands/contract.js';
import statusCommand from '../../src/cli/commands/status.js';
import { runRevoke } from '../../src/cli/commands/worker-revoke.js';
import { cleanGrpcText } from '../../src/cli/client-options.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { deadEndpoint, runCommand } from '../helpers/cli.js';
import type { Command } from '../../src/cli/main.js';

describe('operator commands: fan-out, documents, exit codes', () => {
  let node: TestNode;
  let dead: string;
  let files: { operator: string; gov: string[]; policy: string };

  beforeAll(async () => {
    node = await startTestNode();
    for (const share of node.shares.slice(0, 2)) await node.client.call('OperatorService', 'Unseal', { share });
    dead = await deadEndpoint();
    const write = (name: string, text: string) => { const f = path.join(node.dir, name); fs.writeFileSync(f, text, { mode: 0o600 }); return f; };
    files = {
      operator: write('operator.key', bytesToHex(node.operator.secretKey)),
      gov: node.governance.map((g, i) => write(`gov-${i}.key`, bytesToHex(g.secretKey))),
      policy: write('policy.json', JSON.stringify({
        id: 'p', serial: 1, publicationQuorum: 1, attestation: { tees: ['SGX'], allowedStatuses: ['UpToDate'], allowDebug: false },
        namespaces: { ns: { sgx: { mrEnclave: ['11'.repeat(32)], mrSigner: ['22'.repeat(32)], isvProdId: 1, minIsvSvn: 1 } } },
      })),
    };
  });
  afterAll(async () => { await node?.stop(); });

  const f = (name: string) => path.join(node.dir, name);
  const run = (c: Command, argv: string[]) => runCommand(c, argv);

  it('policy set: one row per member, exit 1 while a member is down, 0 once the retry reaches all', async () => {
    // Two holders sign separate copies of the prepared policy; combine merges them.
    expect((await run(policyCommand, ['prepare', '--policy', files.policy, '--out', f('p.doc')])).code).toBe(0);
    fs.copyFileSync(f('p.doc'), f('p-b.doc'));
    expect((await run(governanceCommand, ['sign', '--in', f('p.doc'), '--governance-key', files.gov[0]!])).code).toBe(0);
    expect((await run(governanceCommand, ['sign', '--in', f('p-b.doc'), '--governance-key', files.gov[1]!])).code).toBe(0);
    const c = await run(governanceCommand, ['combine', '--in', f('p.doc'), '--in', f('p-b.doc'), '--out', f('p-signed.doc'), '--json']);
    expect(JSON.parse(c.out).signers).toHaveLength(2);

    const partial = await run(policyCommand, ['set', '--signed', f('p-signed.doc'), '--endpoint', node.endpoint, '--endpoint', dead, '--operator-key', files.operator, '--json']);
    expect(partial.code).toBe(1);
    const rows = JSON.parse(partial.out) as { ok: boolean; members: { endpoint: string; ok: boolean; code?: string; error?: string }[] };
    expect(rows.ok).toBe(false);
    expect(rows.members[0]).toMatchObject({ endpoint: node.endpoint, ok: true, result: { policy: 'p', serial: 1 } });
    expect(rows.members[1]).toMatchObject({ endpoint: dead, ok: false, code: 'UNAVAILABLE' });
    // One sentence: no gRPC timestamps or dangling "Resolution note".
    expect(rows.members[1]!.error).toMatch(new RegExp(`^cannot reach ${dead}: connection refused`));
    expect(rows.members[1]!.error).not.toMatch(/Resolution note|\d{4}-\d\d-\d\dT/);

    // The same command again, to the member that applied it: nothing changes, exit 0.
    const again = await run(policyCommand, ['set', '--signed', f('p-signed.doc'), '--endpoint', node.endpoint, '--operator-key', files.operator]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`${node.endpoint.replace(/\./g, '\\.')}\\s+ok\\s+policy=p serial=1`));
  });

  it('a document with too few signatures is refused by the member, a tampered one before sending', async () => {
    expect((await run(policyCommand, ['prepare', '--policy', files.policy, '--out', f('one.doc')])).code).toBe(0);
    await run(governanceCommand, ['sign', '--in', f('one.doc'), '--governance-key', files.gov[0]!]);
    const few = await run(policyCommand, ['set', '--signed', f('one.doc'), '--endpoint', node.endpoint, '--operator-key', files.operator]);
    expect(few.code).toBe(1);
    expect(few.out).toMatch(/FAILED PERMISSION_DENIED/);
    // Tamper: the signed bytes change after signing, so the signature no longer verifies.
    const doc = JSON.parse(fs.readFileSync(f('one.doc'), 'utf8'));
    doc.payloadHex = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(doc.payloadHex, 'hex').toString()), serial: 9 })).toString('hex');
    fs.writeFileSync(f('tampered.doc'), JSON.stringify(doc));
    await expect(run(policyCommand, ['set', '--signed', f('tampered.doc'), '--endpoint', node.endpoint, '--operator-key', files.operator]))
      .rejects.toThrow(/does not verify/);
    // Copies of different documents are not combined.
    fs.writeFileSync(f('policy2.json'), fs.readFileSync(files.policy, 'utf8').replace('"serial":1', '"serial":2'));
    expect((await run(policyCommand, ['prepare', '--policy', f('policy2.json'), '--out', f('two.doc')])).code).toBe(0);
    await expect(run(governanceCommand, ['combine', '--in', f('one.doc'), '--in', f('two.doc'), '--out', f('mixed.doc')])).rejects.toThrow(/signs different content/);
    expect(fs.existsSync(f('mixed.doc'))).toBe(false);
  });

  it('contract register, prepare + --signed rotate, and worker revoke go to every member', async () => {
    const reg = await run(contractCommand, ['register', '--contract', 'c1', '--namespace', 'ns', '--policy-id', 'p', '--endpoint', node.endpoint, '--operator-key', files.operator, '--json']);
    expect([reg.code, JSON.parse(reg.out).ok]).toEqual([0, true]);
    expect((await run(contractCommand, ['prepare', 'rotate', '--contract', 'c1', '--version', '2', '--out', f('rot.doc')])).code).toBe(0);
    await run(governanceCommand, ['sign', '--in', f('rot.doc'), '--governance-key', files.gov[0]!, '--governance-key', files.gov[1]!]);
    // A signed document for another version is refused before anything is sent.
    await expect(run(contractCommand, ['rotate', '--contract', 'c1', '--version', '3', '--signed', f('rot.doc'), '--endpoint', node.endpoint]))
      .rejects.toThrow(/signs rotate v2/);
    const rot = await run(contractCommand, ['rotate', '--contract', 'c1', '--version', '2', '--signed', f('rot.doc'), '--endpoint', node.endpoint, '--operator-key', files.operator]);
    expect([rot.code, rot.out]).toEqual([0, expect.stringMatching(/rotate v2 applied; current version 2/)]);
    const rev = await runCommand({ summary: '', run: runRevoke }, ['--measurement', 'ab'.repeat(32), '--reason', 'test', '--endpoint', node.endpoint, '--operator-key', files.operator]);
    expect(rev.code).toBe(0);
    await expect(runCommand({ summary: '', run: runRevoke }, ['--measurement', 'ab', '--endpoint', node.endpoint])).rejects.toThrow(/MRENCLAVE/);
  });

  it('keys generate writes 0600 and never overwrites; keys public prints the same key', async () => {
    const g = await run(keysCommand, ['generate', '--kind', 'governance', '--out', f('new.key'), '--json']);
    expect(g.code).toBe(0);
    expect(fs.statSync(f('new.key')).mode & 0o777).toBe(0o600);
    const p = await run(keysCommand, ['public', '--key', f('new.key'), '--json']);
    expect(JSON.parse(p.out).publicKey).toBe(JSON.parse(g.out).publicKey);
    await expect(run(keysCommand, ['generate', '--out', f('new.key')])).rejects.toThrow(/never overwritten/);
  });

  it('a failover error (as encrypt prints it) lists each distinct failure once, without gRPC\'s dangling notes', () => {
    const raw = 'PublicService/GetContractKey: no member answered within 10000 ms (4 attempts: '
      + ['1', '2', '1', '2'].map((p) => `127.0.0.1:${p}: UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:${p} (2026-12-02T03:28:01.123Z). Resolution note: `).join('; ') + ')';
    expect(cleanGrpcText(raw)).toBe('PublicService/GetContractKey: no member answered within 10000 ms (4 attempts: '
      + '127.0.0.1:1: UNAVAILABLE: connection refused; 127.0.0.1:2: UNAVAILABLE: connection refused)');
  });

  it('--endpoint localhost (no port) says what is wrong; a down node is one sentence and exit 1', async () => {
    await expect(run(statusCommand, ['--endpoint', 'localhost'])).rejects.toThrow(/"localhost" must be HOST:PORT.*port is missing/);
    await expect(run(statusCommand, ['--endpoint', 'http://127.0.0.1:7001'])).rejects.toThrow(/without a scheme/);
    await expect(run(statusCommand, ['--endpoint', '127.0.0.1:70000'])).rejects.toThrow(/out of range/);
    const down = await run(statusCommand, ['--endpoint', dead]);
    expect(down.code).toBe(1);
    expect(down.err.trim()).toMatch(new RegExp(`^gatekeeper status: cannot reach ${dead}: connection refused \\(is the node running, and is this its gRPC port\\?\\)\\.$`));
  });
});
