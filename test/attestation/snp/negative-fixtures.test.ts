// Attacks on the real AMD reports and collateral of fixtures/sev-snp: every bit of the signed part
// flipped (sampled), signatures edited, certificates and CRLs swapped for another product's, CRL dates,
// truncated and extended files, bad arguments. Each must be refused at the step that owns the rule.
import { parseSnpReport, SnpVerificationCache, verifySnpReport, type SnpVerdict, type SnpVerifyInput } from '../../../src/attestation/index.js';
import { pemCerts, readSnp, snpCase, toPem } from './snp-fixtures.js';

const cache = new SnpVerificationCache();
const derOfPemCrl = (pem: Uint8Array) =>
  Buffer.from(Buffer.from(pem).toString('latin1').replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, ''), 'base64');
const milan = snpCase('virtee-milan-v2-ok');
const genoa = snpCase('azure-genoa-v3-ok');
const input = (c: typeof milan, over: Partial<SnpVerifyInput> = {}): SnpVerifyInput =>
  ({ vcek: c.vcek, askArk: c.askArk, crl: c.crl, now: c.now, cache, ...over });

function refused(v: SnpVerdict): { step: string; error: string } | 'accepted' {
  return v.ok ? 'accepted' : { step: v.step, error: v.error };
}
const expectRefused = (v: SnpVerdict, step: string, words: RegExp) =>
  expect(refused(v)).toEqual({ step, error: expect.stringMatching(words) });

/** Whether the strict parser refuses the bytes (layout, version, algorithm, reserved bytes). */
function parserRefuses(r: Uint8Array): boolean {
  try { parseSnpReport(r); return false; } catch { return true; }
}

describe('bit flips in the signed part of real reports', () => {
  for (const c of [milan, genoa]) {
    it(`${c.c.id}: every signed byte, one bit each (bit = offset mod 8), is refused`, () => {
      expect(verifySnpReport(c.report, input(c)).ok).toBe(true);
      const steps = new Map<string, number>();
      for (let off = 0; off < 0x2a0; off++) {
        const r = Uint8Array.from(c.report);
        r[off]! ^= 1 << (off % 8);
        const v = verifySnpReport(r, input(c));
        if (v.ok) throw new Error(`flip at 0x${off.toString(16)} accepted`);
        const want = parserRefuses(r) ? 'parse' : 'snp-signature';
        if (v.step !== want) throw new Error(`flip at 0x${off.toString(16)}: ${v.step} (${v.error}), expected ${want}`);
        steps.set(v.step, (steps.get(v.step) ?? 0) + 1);
      }
      // The reserved tail 0x1F8..0x2A0 alone is 168 bytes the parser owns; the rest reaches the signature check.
      expect(steps.get('parse')).toBeGreaterThan(168);
      expect(steps.get('snp-signature')).toBeGreaterThan(400);
    });
  }

  it('flipping bits of R and S is refused (signature), and of their zero high bytes (parse)', () => {
    for (const off of [0x2a0, 0x2a0 + 20, 0x2a0 + 47, 0x2e8, 0x2e8 + 30, 0x2e8 + 47]) {
      const r = Uint8Array.from(milan.report);
      r[off]! ^= 0x80;
      expectRefused(verifySnpReport(r, input(milan)), 'snp-signature', /does not verify/);
    }
    for (const off of [0x2a0 + 48, 0x2a0 + 71, 0x2e8 + 48, 0x330, 0x49f]) {
      const r = Uint8Array.from(milan.report);
      r[off] = 1;
      expectRefused(verifySnpReport(r, input(milan)), 'parse', /reserved byte at offset/);
    }
  });

  it('R and S swapped, or the signature of another report, is refused', () => {
    const r = Uint8Array.from(milan.report);
    r.set(milan.report.subarray(0x2e8, 0x2e8 + 72), 0x2a0);
    r.set(milan.report.subarray(0x2a0, 0x2a0 + 72), 0x2e8);
    expectRefused(verifySnpReport(r, input(milan)), 'snp-signature', /does not verify/);
    const other = Uint8Array.from(milan.report);
    other.set(snpCase('gosev-milan-v2-debug').report.subarray(0x2a0), 0x2a0);
    expectRefused(verifySnpReport(other, input(milan)), 'snp-signature', /does not verify/);
  });
});

describe('certificates and CRLs swapped for another product\'s', () => {
  const [milanAsk, milanArk] = pemCerts(milan.askArk) as [Uint8Array, Uint8Array];
  const [genoaAsk, genoaArk] = pemCerts(genoa.askArk) as [Uint8Array, Uint8Array];
  const [turinAsk, turinArk] = pemCerts(readSnp('amd/ask_ark_turin.pem')) as [Uint8Array, Uint8Array];
  it('the Genoa VCEK for the Milan report (same Milan chain) is refused', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { vcek: genoa.vcek })), 'snp-vcek', /not issued by this ASK \(SEV-Milan\)/);
  });
  it('the Genoa VCEK with its own Genoa chain for the Milan report is refused (signature)', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { vcek: genoa.vcek, askArk: genoa.askArk, crl: genoa.crl, now: genoa.now })),
      'snp-signature', /does not verify/);
  });
  it('the Turin VCEK for the Milan report with the Turin chain is refused', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { vcek: readSnp('virtee-sev/vcek_turin.der'), askArk: readSnp('amd/ask_ark_turin.pem') })),
      'snp-crl', /issued by 'ARK-Milan', expected 'ARK-Turin'/);
  });
  it('the Genoa ASK under the Milan ARK is refused', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { askArk: toPem(genoaAsk) + toPem(milanArk) })), 'snp-ask', /'SEV-Genoa' is not 'SEV-Milan'/);
  });
  it('the Milan ASK with the Genoa or Turin ARK is refused', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { askArk: toPem(milanAsk) + toPem(genoaArk) })), 'snp-ask', /'SEV-Milan' is not 'SEV-Genoa'/);
    expectRefused(verifySnpReport(milan.report, input(milan, { askArk: toPem(milanAsk) + toPem(turinArk) })), 'snp-ask', /'SEV-Milan' is not 'SEV-Turin'/);
    expect(turinAsk.length).toBeGreaterThan(1000);
  });
  it('the Genoa CRL for the Milan chain is refused', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { crl: genoa.crl, now: new Date('2025-06-01T00:00:00Z') })), 'snp-crl',
      /issued by 'ARK-Genoa', expected 'ARK-Milan'/);
  });
  it('the ASK alone (no ARK in the file) still chains to the pinned ARK; the ARK alone is no ASK', () => {
    expect(verifySnpReport(milan.report, input(milan, { askArk: toPem(milanAsk) })).ok).toBe(true);
    expectRefused(verifySnpReport(milan.report, input(milan, { askArk: toPem(milanArk) })), 'snp-ask', /'ARK-Milan' is not 'SEV-Milan'/);
  });
});

describe('CRL dates and certificate validity on the real chain', () => {
  it('CRL not yet valid (before thisUpdate 2025-05-06) is refused', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { now: new Date('2025-05-01T00:00:00Z') })), 'snp-crl', /not yet valid \(thisUpdate 2025-05-06/);
  });
  it('VCEK not yet valid (the real VCEK from 2023-04-03) is refused even with a current CRL date window', () => {
    // Genoa VCEK is valid from 2025-06-11; the Genoa CRL runs 2024-10-23 to 2025-11-03.
    expectRefused(verifySnpReport(genoa.report, input(genoa, { now: new Date('2025-06-01T00:00:00Z') })), 'snp-vcek', /not yet valid/);
  });
  it('a CRL that is not a CRL, empty, or PEM with junk is refused', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { crl: new Uint8Array([0x30, 0x03, 1, 2, 3]) })), 'snp-crl', /invalid DER/);
    expectRefused(verifySnpReport(milan.report, input(milan, { crl: Buffer.concat([Buffer.from(milan.crl!.subarray(0, 0)), derOfPemCrl(milan.crl!), Buffer.from([0])]) })),
      'snp-crl', /1 bytes after its DER encoding/);
    expectRefused(verifySnpReport(milan.report, input(milan, { crl: new Uint8Array(0) })), 'snp-crl', /empty/);
    expectRefused(verifySnpReport(milan.report, input(milan, { crl: Buffer.concat([Buffer.from(milan.crl!), Buffer.from('junk')]) })), 'snp-crl', /neither DER nor a single PEM/);
  });
});

describe('report files truncated or extended, bad arguments', () => {
  it('truncated and extended reports are refused at parse', () => {
    for (const r of [milan.report.subarray(0, 1183), milan.report.subarray(0, 0x2a0), new Uint8Array(0),
      Uint8Array.from([...milan.report, 0]), Uint8Array.from([...milan.report, ...new Uint8Array(4000)])]) {
      expectRefused(verifySnpReport(r, input(milan)), 'parse', /bytes, an SEV-SNP attestation report is 1184/);
    }
  });
  it('version and signature algorithm out of range are refused at parse', () => {
    for (const version of [0, 1, 6, 0xffffffff]) {
      const r = Uint8Array.from(milan.report);
      new DataView(r.buffer).setUint32(0, version, true);
      expectRefused(verifySnpReport(r, input(milan)), 'parse', /report version \d+ is not supported/);
    }
    for (const algo of [0, 2, 0x100]) {
      const r = Uint8Array.from(milan.report);
      new DataView(r.buffer).setUint32(0x34, algo, true);
      expectRefused(verifySnpReport(r, input(milan)), 'parse', /signature algorithm \d+ is not ECDSA P-384/);
    }
  });
  it('bad now, options and certificates are refused, never thrown', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { now: Number.NaN })), 'input', /now must be/);
    expectRefused(verifySnpReport(milan.report, input(milan, { options: { vmpl: 4 } })), 'input', /vmpl/);
    expectRefused(verifySnpReport(milan.report, input(milan, { options: { minAbi: { major: -1, minor: 0 } } })), 'input', /minAbi/);
    expectRefused(verifySnpReport(milan.report, input(milan, { vcek: new Uint8Array([0x30, 0x00]) })), 'snp-vcek', /not a valid X.509/);
    expectRefused(verifySnpReport(milan.report, input(milan, { vcek: milan.askArk })), 'snp-vcek', /must be one certificate, got 2/);
    // Trailing bytes after a DER certificate (found by the fuzz test) are refused, in files and in PEM.
    expectRefused(verifySnpReport(milan.report, input(milan, { vcek: Uint8Array.from([...milan.vcek, 0x34, 0x62]) })), 'snp-vcek', /2 bytes after its DER encoding/);
    expectRefused(verifySnpReport(milan.report, input(milan, { vcek: toPem(Uint8Array.from([...milan.vcek, 0])) })), 'snp-vcek', /1 bytes after its DER/);
    expectRefused(verifySnpReport(milan.report, input(milan, { askArk: 'not pem' })), 'snp-ask', /outside PEM|no certificate/);
    expect(verifySnpReport(milan.report, null as unknown as SnpVerifyInput)).toMatchObject({ ok: false, step: 'input' });
    for (const bad of [{ vcek: 7 }, { askArk: {} }, { crl: [1, 2] }, { trustedArks: { Milan: 'x' } }]) {
      expect(verifySnpReport(milan.report, input(milan, bad as unknown as Partial<SnpVerifyInput>))).toMatchObject({ ok: false, step: 'input' });
    }
  });
  it('a VMPL or minimum ABI the real reports do not meet is refused', () => {
    expectRefused(verifySnpReport(milan.report, input(milan, { options: { vmpl: 1 } })), 'snp-vmpl', /report is from VMPL 0, expected VMPL 1/);
    expect(verifySnpReport(genoa.report, input(genoa, { options: { minAbi: { major: 0, minor: 31 } } })).ok).toBe(true);
    expectRefused(verifySnpReport(genoa.report, input(genoa, { options: { minAbi: { major: 0, minor: 32 } } })), 'snp-policy', /minimum ABI 0.31 is below the required 0.32/);
    expectRefused(verifySnpReport(genoa.report, input(genoa, { options: { minAbi: { major: 1, minor: 0 } } })), 'snp-policy', /below the required 1.0/);
  });
});
