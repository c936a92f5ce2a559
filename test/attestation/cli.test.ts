// `gatekeeper attestation verify` run in-process: JSON fields, exit codes 0/1/2, policy and root options.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import command from '../../src/cli/commands/attestation.js';
import { UsageError } from '../../src/cli/args.js';
import { createTestPki } from '../../src/attestation/test-pki/index.js';
import { DCAP_DIR, fixtureCase } from './dcap-fixtures.js';
import { runCommand } from '../helpers/cli.js';

const run = (argv: string[]) => runCommand(command, argv);
const fx = (id: string) => {
  const { c } = fixtureCase(id);
  return ['--quote', path.join(DCAP_DIR, c.quote), '--collateral', path.join(DCAP_DIR, c.collateral), '--now', String(c.now)];
};

describe('gatekeeper attestation verify', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-attest-')); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  it('accepts the SGX fixture: exit 0 and the documented JSON fields', async () => {
    const r = await run(['verify', ...fx('phala-sgx-v3'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    expect(j).toMatchObject({ ok: true, tee: 'SGX', quoteVersion: 3, status: 'ConfigurationAndSWHardeningNeeded',
      advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'],
      mrEnclave: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
      mrSigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6' });
    expect(Buffer.from(j.reportData as string, 'hex').toString('latin1')).toMatch(/^Hello, world!/);
    expect(j.error).toBeUndefined();
  });

  it('accepts the TDX v5 fixture with mrTd', async () => {
    const r = await run(['verify', ...fx('gotdx-tdx-v5'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, tee: 'TDX', quoteVersion: 5, status: 'UpToDate', advisoryIds: [], mrTd: expect.stringMatching(/^[0-9a-f]{96}$/) });
  });

  it('rejects with exit 1 and an error (stale PCK CRL), human output too', async () => {
    const r = await run(['verify', ...fx('mobilecoin-sgx-v3-stale-pck-crl'), '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, tee: 'SGX', quoteVersion: 3, error: expect.stringMatching(/PCK CRL has expired/) });
    const h = await run(['verify', ...fx('mobilecoin-sgx-v3-stale-pck-crl')]);
    expect(h.code).toBe(1);
    expect(h.out).toMatch(/^REJECTED\n[\s\S]*reason: +PCK CRL has expired/);
  });

  it('applies --policy: a status outside the allowed list is exit 1 with the policy reason', async () => {
    const policy = path.join(tmp, 'policy.json');
    fs.writeFileSync(policy, JSON.stringify({ allowedStatuses: ['UpToDate'] }));
    const r = await run(['verify', ...fx('phala-sgx-v3'), '--policy', policy, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, status: 'ConfigurationAndSWHardeningNeeded', error: expect.stringMatching(/policy refused: TCB status/) });
  });

  it('trusts a development root only when --root names it', async () => {
    const pki = await createTestPki({ now: new Date('2026-01-15T00:00:00Z') });
    const quote = path.join(tmp, 'dev.quote');
    const col = path.join(tmp, 'dev.collateral.json');
    const root = path.join(tmp, 'dev-root.der');
    fs.writeFileSync(quote, pki.buildTdxQuoteV4({ mrTd: new Uint8Array(48).fill(7), reportData: new Uint8Array(64) }));
    fs.writeFileSync(col, JSON.stringify(await pki.collateral({ tee: 'TDX' })));
    fs.writeFileSync(root, pki.rootDer);
    const args = ['verify', '--quote', quote, '--collateral', col, '--now', String(Date.parse('2026-01-15T00:00:00Z') / 1000), '--json'];
    expect((await run(args)).code).toBe(1);
    const r = await run([...args, '--root', root]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, tee: 'TDX', mrTd: '07'.repeat(48) });
    expect(r.err).toMatch(/not the Intel SGX Root CA/);
  });

  it('bad usage and unreadable input are UsageError (exit 2)', async () => {
    await expect(run(['verify', '--collateral', 'x'])).rejects.toThrow(/--quote is required/);
    await expect(run(['verify', ...fx('phala-sgx-v3'), '--bogus'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['frobnicate'])).rejects.toThrow(/unknown subcommand/);
    await expect(run(['verify', '--quote', path.join(tmp, 'missing'), '--collateral', 'x'])).rejects.toThrow(/cannot read quote file/);
    const badCol = path.join(tmp, 'bad.json');
    fs.writeFileSync(badCol, '{"tcb_info": 1}');
    const q = fixtureCase('phala-sgx-v3').c.quote;
    await expect(run(['verify', '--quote', path.join(DCAP_DIR, q), '--collateral', badCol])).rejects.toThrow(/collateral .* must be a string/);
    await expect(run(['verify', ...fx('phala-sgx-v3'), '--now', 'yesterday'])).rejects.toThrow(/--now must be Unix seconds/);
    await expect(run(['verify', ...fx('phala-sgx-v3'), '--root', badCol])).rejects.toThrow(/not an X.509 certificate/);
  });
});
