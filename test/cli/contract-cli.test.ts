// `gatekeeper contract rotate|retire|resolve-alarm` and `gatekeeper encrypt --min-version` against a
// real node on loopback (an unsealed node needs no committee to hold a contract's versions).
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { signTagged } from '../../src/crypto/identity.js';
import { utf8 } from '../../src/crypto/bytes.js';
import contractCommand from '../../src/cli/commands/contract.js';
import { runEncrypt } from '../../src/cli/commands/encrypt.js';
import { UsageError } from '../../src/cli/args.js';
import { status } from '@grpc/grpc-js';
import { contractGovernanceMessage } from '../../src/keys/wire.js';
import { RpcError } from '../../src/rpc/errors.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { runCommand } from '../helpers/cli.js';

describe('gatekeeper contract', () => {
  let node: TestNode;
  let files: { operator: string; gov: string[] };

  beforeAll(async () => {
    node = await startTestNode();
    for (const share of node.shares.slice(0, 2)) await node.client.call('OperatorService', 'Unseal', { share });
    const policyJson = utf8(JSON.stringify({
      id: 'p', serial: 1, publicationQuorum: 1, attestation: { tees: ['SGX'], allowedStatuses: ['UpToDate'], allowDebug: false },
      namespaces: { ns: { sgx: { mrEnclave: ['11'.repeat(32)], mrSigner: ['22'.repeat(32)], isvProdId: 1, minIsvSvn: 1 } } },
    }));
    const sign = { sign: { role: 'operator' as const, secretKey: node.operator.secretKey } };
    await node.client.call('OperatorService', 'SetReleasePolicy', {
      policyJson, signatures: node.governance.map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'policy', policyJson) })),
    }, sign);
    await node.client.call('OperatorService', 'RegisterContract', { contractId: utf8('cli-demo'), namespace: 'ns', policyId: 'p' }, sign);
    const write = (name: string, sk: Uint8Array) => { const f = path.join(node.dir, name); fs.writeFileSync(f, bytesToHex(sk), { mode: 0o600 }); return f; };
    files = { operator: write('operator.key', node.operator.secretKey), gov: node.governance.map((g, i) => write(`gov-${i}.key`, g.secretKey)) };
  });
  afterAll(async () => { await node?.stop(); });

  const args = (action: string, version: number, gov = files.gov) =>
    [action, '--contract', 'cli-demo', '--version', String(version), '--endpoint', node.endpoint, '--operator-key', files.operator,
      ...gov.flatMap((f) => ['--governance-key', f])];

  test('rotate moves the current version once, is idempotent, and needs the governance threshold', async () => {
    const few = await runCommand(contractCommand, args('rotate', 2, files.gov.slice(0, 1)));
    expect(few.code).toBe(1);
    expect(few.err).toMatch(/1 valid governance signature\(s\); 2 are required/);
    const r = await runCommand(contractCommand, args('rotate', 2));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/rotate v2 applied; current version 2/);
    const again = await runCommand(contractCommand, args('rotate', 2));
    expect([again.code, again.out]).toEqual([0, expect.stringMatching(/current version 2/)]);
    const skip = await runCommand(contractCommand, args('rotate', 4));
    expect(skip.code).toBe(1);
    expect(skip.err).toMatch(/moves it to 3, not 4/);
  });

  test('retire refuses a version above the current one and retires an issued one', async () => {
    const ahead = await runCommand(contractCommand, args('retire', 9));
    expect(ahead.code).toBe(1);
    expect(ahead.err).toMatch(/above the current version/);
    expect((await runCommand(contractCommand, args('retire', 1))).code).toBe(0);
    const audit = await node.client.call<{ entries: { action: string }[] }>('OperatorService', 'ReadAudit', { afterSeq: '0', limit: 100 },
      { sign: { role: 'operator', secretKey: node.operator.secretKey } });
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['contract.rotated', 'contract.retired']));
  });

  test('bad requests get clear statuses, never INTERNAL', async () => {
    const sign = { sign: { role: 'operator' as const, secretKey: node.operator.secretKey } };
    const sigs = (cid: Uint8Array, v: number) => node.governance.map((g) => ({ key: g.publicKey, signature: signTagged(g.secretKey, 'contract-governance', contractGovernanceMessage('rotate', cid, v)) }));
    const call = (req: Record<string, unknown>) => node.client.call('OperatorService', 'RotateContractKey', req, sign).then(() => 'OK', (e: RpcError) => status[e.code]);
    expect(await call({ contractId: new Uint8Array(), version: 2, signatures: [] })).toBe('INVALID_ARGUMENT');
    expect(await call({ contractId: utf8('cli-demo'), version: 0, signatures: [] })).toBe('INVALID_ARGUMENT');
    expect(await call({ contractId: utf8('cli-demo'), version: 3, signatures: [{ key: new Uint8Array(3), signature: new Uint8Array(1) }] })).toBe('PERMISSION_DENIED');
    expect(await call({ contractId: utf8('nobody'), version: 2, signatures: sigs(utf8('nobody'), 2) })).toBe('NOT_FOUND');
    expect(await node.client.call('OperatorService', 'RotateContractKey', { contractId: utf8('cli-demo'), version: 3, signatures: sigs(utf8('cli-demo'), 3) })
      .then(() => 'OK', (e: RpcError) => status[e.code])).toBe('UNAUTHENTICATED');
  });

  test('bad usage exits 2 or throws a usage error', async () => {
    expect((await runCommand(contractCommand, ['explode'])).code).toBe(2);
    await expect(runCommand(contractCommand, ['rotate', '--contract', 'x', '--version', '0', '--endpoint', node.endpoint])).rejects.toThrow(UsageError);
    const out = { stdout: () => {}, stderr: () => {} };
    await expect(runEncrypt(['--contract', 'x', '--version', '2', '--min-version', '2', '--in', 'a', '--out', 'b', '--committee-key', '00'.repeat(32),
      '--endpoint', node.endpoint], out)).rejects.toThrow(/either --version or --min-version/);
  });
});
