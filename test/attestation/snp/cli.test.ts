// `gatekeeper attestation verify --snp-report` run in-process: exit 0 accepted, 1 rejected with the
// failed step named, 2 usage; --policy (the attestation policy JSON of docs/release-policy.md, the
// same as for DCAP quotes), --ask-ark default and a development ARK via --root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import command from '../../../src/cli/commands/attestation.js';
import { UsageError } from '../../../src/cli/args.js';
import { createSnpDevAttestation, createSnpTestPki } from '../../../src/attestation/test-pki/snp.js';
import { runCommand } from '../../helpers/cli.js';
import { parseSnpReport } from '../../../src/attestation/snp/report.js';
import { SNP_DIR, snpCase } from './snp-fixtures.js';

const run = (argv: string[]) => runCommand(command, argv);
const measurementOf = (id: string) => Buffer.from(parseSnpReport(snpCase(id).report).measurement).toString('hex');
const fx = (id: string, { askArk = true } = {}) => {
  const { c } = snpCase(id);
  return ['--snp-report', path.join(SNP_DIR, c.report), '--vcek', path.join(SNP_DIR, c.vcek),
    ...(askArk ? ['--ask-ark', path.join(SNP_DIR, c.askArk)] : []), '--crl', path.join(SNP_DIR, c.crl!),
    '--now', String(Date.parse(c.now) / 1000)];
};

describe('gatekeeper attestation verify --snp-report', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-snp-')); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  it('accepts the Genoa fixture: exit 0 and the JSON fields', async () => {
    const r = await run(['verify', ...fx('azure-genoa-v3-ok'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, tee: 'SNP', product: 'Genoa', reportVersion: 3, signingKey: 'VCEK',
      measurement: '572db4d3f521386bec1c76346f9c913431f2f257c9c09d604c1259b108a686ae0d277f31899a73098b41b556dc70a5fb',
      reportedTcb: { bootloader: 10, tee: 0, snp: 23, microcode: 84 }, vmpl: 0, debug: false, guestPolicy: '0x3001f' });
  });

  it('accepts the Milan fixture without --ask-ark (embedded ASK), human output', async () => {
    const r = await run(['verify', ...fx('virtee-milan-v2-ok', { askArk: false })]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ACCEPTED\ntee: +SNP Milan \(report v2, VCEK\)\nmeasurement: +7a1e5c26/);
  });

  it('rejects the debug report with exit 1 naming the step; an explicit policy allowing debug accepts it', async () => {
    const r = await run(['verify', ...fx('gosev-milan-v2-debug'), '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, tee: 'SNP', reportVersion: 2, step: 'snp-policy', error: expect.stringMatching(/POLICY bit 19/) });
    const h = await run(['verify', ...fx('gosev-milan-v2-debug')]);
    expect(h.out).toMatch(/^REJECTED\n[\s\S]*failed check: snp-policy\nreason: +guest policy allows debugging/);
    // --policy is the attestation policy: allowDebug at the top, the snp block allow-lists the measurement.
    const policy = path.join(tmp, 'debug.json');
    const debugM = measurementOf('gosev-milan-v2-debug');
    fs.writeFileSync(policy, JSON.stringify({ allowDebug: true, snp: { measurement: [debugM] } }));
    const ok = await run(['verify', ...fx('gosev-milan-v2-debug'), '--policy', policy, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true, debug: true, measurement: debugM });
    const okM = measurementOf('virtee-milan-v2-ok');
    const vmpl = path.join(tmp, 'vmpl.json');
    fs.writeFileSync(vmpl, JSON.stringify({ snp: { measurement: [okM], vmpl: 1, minAbi: '0.0' } }));
    expect(JSON.parse((await run(['verify', ...fx('virtee-milan-v2-ok'), '--policy', vmpl, '--json'])).out)).toMatchObject({ ok: false, step: 'snp-vmpl' });
    fs.writeFileSync(vmpl, JSON.stringify({ snp: { measurement: [okM], minAbi: '1.0' } }));
    expect(JSON.parse((await run(['verify', ...fx('virtee-milan-v2-ok'), '--policy', vmpl, '--json'])).out))
      .toMatchObject({ ok: false, step: 'snp-policy', error: expect.stringMatching(/minimum ABI 0\.0 is below the required 1\.0/) });
  });

  it('--policy fails closed: the measurement must be allow-listed and the policy must admit SNP', async () => {
    const okM = measurementOf('virtee-milan-v2-ok');
    const file = path.join(tmp, 'policy.json');
    fs.writeFileSync(file, JSON.stringify({ snp: { measurement: [okM] } }));
    const accepted = await run(['verify', ...fx('virtee-milan-v2-ok'), '--policy', file, '--json']);
    expect([accepted.code, JSON.parse(accepted.out).ok]).toEqual([0, true]);
    fs.writeFileSync(file, JSON.stringify({ snp: { measurement: ['ab'.repeat(48)] } }));
    const wrong = await run(['verify', ...fx('virtee-milan-v2-ok'), '--policy', file, '--json']);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.out)).toMatchObject({ ok: false, step: 'policy:measurement', measurement: okM });
    const human = await run(['verify', ...fx('virtee-milan-v2-ok'), '--policy', file]);
    expect(human.out).toMatch(/^REJECTED\ntee: +SNP Milan[\s\S]*failed check: policy:measurement\nreason: +policy refused: MEASUREMENT/);
    // The same policy a DCAP quote is checked with: an sgx-only policy refuses every SNP report.
    fs.writeFileSync(file, JSON.stringify({ sgx: { mrEnclave: ['00'.repeat(32)] } }));
    expect(JSON.parse((await run(['verify', ...fx('virtee-milan-v2-ok'), '--policy', file, '--json'])).out)).toMatchObject({ ok: false, step: 'policy:tee' });
  });

  it('rejects the wrong-product chain and the expired CRL with their steps', async () => {
    const wrong = await run(['verify', ...fx('virtee-milan-wrong-product-chain'), '--json']);
    expect([wrong.code, JSON.parse(wrong.out).step]).toEqual([1, 'snp-vcek']);
    const expired = await run(['verify', ...fx('virtee-milan-crl-expired'), '--json']);
    expect([expired.code, JSON.parse(expired.out).step]).toEqual([1, 'snp-crl']);
  });

  it('trusts a development ARK only when --root names it', async () => {
    const now = new Date('2026-01-15T00:00:00Z');
    const pki = await createSnpTestPki({ product: 'Genoa', now });
    const a = await createSnpDevAttestation(pki, { reportData: new Uint8Array(64).fill(3), measurement: new Uint8Array(48).fill(4) });
    const files = { report: a.report, vcek: a.vcek, askArk: a.askArk, crl: a.crl, ark: a.ark };
    for (const [k, v] of Object.entries(files)) fs.writeFileSync(path.join(tmp, `dev.${k}`), v);
    const args = ['verify', '--snp-report', path.join(tmp, 'dev.report'), '--vcek', path.join(tmp, 'dev.vcek'), '--ask-ark', path.join(tmp, 'dev.askArk'),
      '--crl', path.join(tmp, 'dev.crl'), '--now', String(now.getTime() / 1000), '--json'];
    const refused = await run(args);
    expect([refused.code, JSON.parse(refused.out).step]).toEqual([1, 'snp-ark']);
    const r = await run([...args, '--root', path.join(tmp, 'dev.ark')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, product: 'Genoa', measurement: '04'.repeat(48), reportData: '03'.repeat(64) });
    expect(r.err).toMatch(/not AMD's \(development only\)/);
    await expect(run([...args, '--root', path.join(tmp, 'dev.vcek')])).rejects.toThrow(/is not an ARK/);
  });

  it('bad usage and unreadable input are UsageError (exit 2)', async () => {
    const m = fx('virtee-milan-v2-ok');
    await expect(run(['verify', '--snp-report', m[1]!, '--crl', m[5]!])).rejects.toThrow(/--vcek is required/);
    await expect(run(['verify', '--snp-report', m[1]!, '--vcek', m[3]!])).rejects.toThrow(/--crl is required/);
    await expect(run(['verify', ...m, '--quote', m[1]!])).rejects.toThrow(/--quote is for DCAP quotes/);
    await expect(run(['verify', '--vcek', m[3]!, '--quote', 'q', '--collateral', 'c'])).rejects.toThrow(/--vcek is for SEV-SNP/);
    await expect(run(['verify', ...m, '--now', 'tomorrow'])).rejects.toThrow(/--now must be Unix seconds/);
    await expect(run(['verify', '--snp-report', path.join(tmp, 'missing'), '--vcek', m[3]!, '--crl', m[5]!])).rejects.toThrow(/cannot read SNP report file/);
    const bad = path.join(tmp, 'bad-policy.json');
    fs.writeFileSync(bad, JSON.stringify({ snp: { measurements: ['00'] } }));
    await expect(run(['verify', ...m, '--policy', bad])).rejects.toThrow(/unknown policy field 'snp.measurements'/);
    fs.writeFileSync(bad, JSON.stringify({ snp: { measurement: ['00'.repeat(48)], minAbi: 1 } }));
    await expect(run(['verify', ...m, '--policy', bad])).rejects.toBeInstanceOf(UsageError);
  });
});
