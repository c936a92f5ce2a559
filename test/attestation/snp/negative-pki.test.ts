// Attacks that need a signer: with the development SNP PKI every other check passes, so each case
// isolates one rule — CRL (expired, not yet valid, wrong key, listing the ASK), VCEK TCB lower and
// higher than reported, hwID, every guest policy bit, VMPL, report version and signature algorithm,
// reserved fields (validly signed), look-alike ARKs, VLEK chains, product binding, caching.
import { SnpVerificationCache, verifySnpReport, type SnpVerdict, type SnpVerifyInput } from '../../../src/attestation/index.js';
import { createSnpDevAttestation, createSnpTestPki, type SnpReportParams, type SnpTestPki } from '../../../src/attestation/test-pki/snp.js';

const NOW = new Date('2026-01-15T00:00:00Z');
const DAY = 86_400_000;
const RD = new Uint8Array(64).fill(0x11);
let milan: SnpTestPki;
let genoa: SnpTestPki;
let turin: SnpTestPki;
let lookAlike: SnpTestPki;
let milanCrl: Uint8Array;
const cache = new SnpVerificationCache();

const base = (pki: SnpTestPki, crl: Uint8Array, over: Partial<SnpVerifyInput> = {}): SnpVerifyInput =>
  ({ vcek: pki.vcek.der, askArk: pki.askArkPem, crl, now: NOW, trustedArks: pki.trustedArks, cache, ...over });
const verify = (report: Uint8Array, over: Partial<SnpVerifyInput> = {}) => verifySnpReport(report, base(milan, milanCrl, over));
const report = (p: Partial<SnpReportParams> = {}, mutateSigned?: (b: Uint8Array) => void) => milan.buildReport({ reportData: RD, ...p }, { mutateSigned });

function refused(v: SnpVerdict) { return v.ok ? 'accepted' : { step: v.step, error: v.error }; }
const expectRefused = (v: SnpVerdict, step: string, words: RegExp) => expect(refused(v)).toEqual({ step, error: expect.stringMatching(words) });
function accepted(v: SnpVerdict) {
  if (!v.ok) throw new Error(`refused at ${v.step}: ${v.error}`);
  return v;
}

beforeAll(async () => {
  [milan, genoa, turin, lookAlike] = await Promise.all([
    createSnpTestPki({ product: 'Milan', now: NOW }), createSnpTestPki({ product: 'Genoa', now: NOW }),
    createSnpTestPki({ product: 'Turin', now: NOW }), createSnpTestPki({ product: 'Milan', now: NOW }),
  ]);
  milanCrl = await milan.crl();
}, 60_000);

describe('development PKI baseline', () => {
  it('accepts Milan reports v2 to v5, Genoa and Turin, with the decoded fields', async () => {
    for (const version of [2, 3, 4, 5]) expect(accepted(verify(report({ version }))).reportVersion).toBe(version);
    const v = accepted(verifySnpReport(genoa.buildReport({ reportData: RD, measurement: new Uint8Array(48).fill(9) }), base(genoa, await genoa.crl())));
    expect([v.product, v.measurement, v.reportData, v.productName]).toEqual(['Genoa', '09'.repeat(48), '11'.repeat(64), 'Genoa-B1']);
    const t = accepted(verifySnpReport(turin.buildReport({ reportData: RD }), base(turin, await turin.crl())));
    expect([t.product, t.reportedTcb]).toEqual(['Turin', { fmc: 1, bootloader: 4, tee: 0, snp: 22, microcode: 213 }]);
  });

  it('the worker helper produces a report and files that verify only with the development ARK named', async () => {
    const a = await createSnpDevAttestation(milan, { reportData: RD, measurement: new Uint8Array(48).fill(5), hostData: new Uint8Array(32).fill(6) });
    const files = { vcek: a.vcek, askArk: a.askArk, crl: a.crl, now: NOW };
    const v = accepted(verifySnpReport(a.report, { ...files, trustedArks: { Milan: a.ark } }));
    expect([v.measurement, v.hostData, v.vmpl, v.debug]).toEqual(['05'.repeat(48), '06'.repeat(32), 0, false]);
    // Without the explicit development ARK, the self-signed ARK in the file never replaces AMD's pinned one.
    expectRefused(verifySnpReport(a.report, files), 'snp-ark', /the ARK in the chain \('ARK-Milan'\) is not a pinned ARK/);
    expectRefused(verifySnpReport(a.report, { ...files, askArk: milan.ask.pem }), 'snp-ark', /the ASK's issuer is not a pinned ARK/);
    await expect(createSnpDevAttestation(milan, { reportData: new Uint8Array(32) })).rejects.toThrow(/64 bytes/);
  });
});

describe('CRL', () => {
  it('expired, not yet valid, signed by the wrong key, or listing the ASK is refused', async () => {
    const r = report();
    expectRefused(verify(r, { crl: await milan.crl({ nextUpdate: new Date(NOW.getTime() - DAY) }) }), 'snp-crl', /CRL has expired/);
    expectRefused(verify(r, { crl: await milan.crl({ thisUpdate: new Date(NOW.getTime() + DAY) }) }), 'snp-crl', /CRL is not yet valid/);
    expectRefused(verify(r, { crl: await milan.crl({ signWith: milan.ask }) }), 'snp-crl', /signature does not verify with the key of 'ARK-Milan'/);
    expectRefused(verify(r, { crl: await milan.crl({ signWith: lookAlike.ark }) }), 'snp-crl', /signature does not verify/);
    expectRefused(verify(r, { crl: await milan.crl({ revokedSerials: [milan.ask.serial] }) }), 'snp-crl', /SEV-Milan \(serial [0-9a-f]+\) is revoked/);
    expect(verify(r, { crl: await milan.crl({ revokedSerials: ['7777'] }) }).ok).toBe(true);
    expectRefused(verify(r, { crl: await lookAlike.crl() }), 'snp-crl', /signature does not verify/);
    expectRefused(verify(r, { crl: await genoa.crl() }), 'snp-crl', /issued by 'ARK-Genoa', expected 'ARK-Milan'/);
    expectRefused(verify(r, { crl: null }), 'snp-crl', /no CRL supplied/);
  });
});

describe('TCB: REPORTED_TCB must equal the VCEK TCB extensions', () => {
  const tcb = { bootloader: 4, tee: 0, snp: 22, microcode: 213 };
  for (const k of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
    it(`VCEK ${k} lower and higher than reported is refused`, async () => {
      for (const d of [-1, 1]) {
        const vcek = await milan.issueVcek({ tcb: { ...tcb, [k]: tcb[k] + (tcb[k] === 0 && d < 0 ? 2 : d) }, hwid: milan.vcek.hwid });
        // Sign with the new VCEK but report the original TCB.
        const r = milan.buildReport({ reportData: RD, reportedTcb: tcb }, { vcek });
        expectRefused(verify(r, { vcek: vcek.der }), 'snp-tcb', new RegExp(`differs from the VCEK's TCB .* in ${k}`));
      }
    });
  }
  it('Turin: an FMC lower and higher than reported is refused; reserved TCB bytes are refused', async () => {
    const crl = await turin.crl();
    for (const fmc of [0, 2]) {
      const r = turin.buildReport({ reportData: RD, reportedTcb: { ...turin.vcek.tcb, fmc } });
      expectRefused(verifySnpReport(r, base(turin, crl)), 'snp-tcb', /in fmc/);
    }
    const r = milan.buildReport({ reportData: RD }, { mutateSigned: (b) => { b[0x180 + 3] = 1; } });
    expectRefused(verify(r), 'snp-tcb', /REPORTED_TCB has non-zero reserved bytes/);
  });
});

describe('hwID and product binding', () => {
  it('CHIP_ID other than the VCEK hwID is refused; MASK_CHIP_ID is refused for a VCEK', () => {
    const chip = Uint8Array.from(milan.vcek.hwid!);
    chip[63]! ^= 1;
    expectRefused(verify(report({ chipId: chip })), 'snp-hwid', /VCEK hwID is not the report CHIP_ID/);
    expectRefused(verify(report({ maskChipId: true })), 'snp-hwid', /MASK_CHIP_ID is set/);
  });
  it('Turin compares the 8-byte hwID with the start of CHIP_ID', async () => {
    const chip = new Uint8Array(64);
    chip.set(turin.vcek.hwid!);
    chip[7]! ^= 1;
    expectRefused(verifySnpReport(turin.buildReport({ reportData: RD, chipId: chip }), base(turin, await turin.crl())), 'snp-hwid', /hwID/);
  });
  it('a report CPUID of another product is refused; a VCEK naming another product is refused', async () => {
    expectRefused(verify(report({ cpuid: [0x19, 0x11, 0x01] })), 'snp-product', /model 11h is Genoa, the VCEK is Milan/);
    expectRefused(verify(report({ cpuid: [0x17, 0x31, 0x00] })), 'snp-product', /not a known product/);
    expect(verify(report({ version: 2 })).ok).toBe(true); // v2 carries no CPUID
    const vcek = await milan.issueVcek({ productName: 'Genoa', hwid: milan.vcek.hwid });
    expectRefused(verify(milan.buildReport({ reportData: RD }, { vcek }), { vcek: vcek.der }), 'snp-product', /VCEK is for 'Genoa' but its chain is Milan/);
  });
  it('a VCEK of another product\'s development PKI (signed by its ASK) is refused', () => {
    const r = genoa.buildReport({ reportData: RD });
    expectRefused(verify(r, { vcek: genoa.vcek.der }), 'snp-vcek', /not issued by this ASK \(SEV-Milan\)/);
  });
});

describe('guest policy and VMPL', () => {
  const P = 0x30000n;
  it('DEBUG and MIGRATE_MA are refused by default and accepted only when allowed', () => {
    const dbg = report({ policy: P | (1n << 19n) });
    expectRefused(verify(dbg), 'snp-policy', /allows debugging \(POLICY bit 19\)/);
    expect(accepted(verify(dbg, { options: { allowDebug: true } })).debug).toBe(true);
    const ma = report({ policy: P | (1n << 18n) });
    expectRefused(verify(ma), 'snp-policy', /migration agent \(POLICY bit 18\)/);
    expect(accepted(verify(ma, { options: { allowMigrateMa: true } })).migrateMa).toBe(true);
    expectRefused(verify(ma, { options: { allowDebug: true } }), 'snp-policy', /migration agent/);
  });
  it('each defined policy bit is decoded; reserved bits 63:26 and a cleared bit 17 are refused', () => {
    const names = { 16: 'smt', 20: 'singleSocket', 21: 'cxlAllow', 22: 'memAes256Xts', 23: 'raplDis', 24: 'ciphertextHiding', 25: 'pageSwapDisable' } as const;
    for (const [bit, name] of Object.entries(names)) {
      const v = accepted(verify(report({ policy: (P & ~(1n << 16n)) | (1n << BigInt(bit)) })));
      expect(Object.entries(v.policy).filter(([, x]) => x === true).map(([k]) => k)).toEqual([name]);
    }
    for (const bit of [26, 40, 63]) {
      expectRefused(verify(report({ policy: P | (1n << BigInt(bit)) })), 'snp-policy', /sets reserved bits 63:26/);
    }
    expectRefused(verify(report({ policy: 0x10000n })), 'snp-policy', /clears bit 17/);
  });
  it('the minimum ABI in the guest policy is checked against minAbi', () => {
    const v = accepted(verify(report({ policy: P | 0x0105n }), { options: { minAbi: { major: 1, minor: 5 } } }));
    expect([v.policy.abiMajor, v.policy.abiMinor]).toEqual([1, 5]);
    expectRefused(verify(report({ policy: P | 0x0104n }), { options: { minAbi: { major: 1, minor: 5 } } }), 'snp-policy', /minimum ABI 1.4 is below the required 1.5/);
    expectRefused(verify(report({ policy: P | 0x00ffn }), { options: { minAbi: { major: 1, minor: 0 } } }), 'snp-policy', /0.255 is below the required 1.0/);
  });
  it('VMPL 0 is required unless another is named', () => {
    for (const vmpl of [1, 2, 3, 0xffffffff]) expectRefused(verify(report({ vmpl })), 'snp-vmpl', /expected VMPL 0/);
    expect(accepted(verify(report({ vmpl: 2 }), { options: { vmpl: 2 } })).vmpl).toBe(2);
    expectRefused(verify(report({ vmpl: 0 }), { options: { vmpl: 2 } }), 'snp-vmpl', /from VMPL 0, expected VMPL 2/);
  });
});

describe('layout rules on validly signed reports', () => {
  it('report version and signature algorithm out of range are refused even when signed', () => {
    for (const version of [1, 6, 7]) expectRefused(verify(report({ version })), 'parse', /report version \d is not supported/);
    for (const signatureAlgo of [0, 2]) expectRefused(verify(report({ signatureAlgo })), 'parse', /signature algorithm \d is not ECDSA/);
  });
  it('every reserved field set to non-zero is refused even when signed', () => {
    const cases: [number, number][] = [[0x4c, 2], [0x4f, 2], [0x48, 2], [0x18b, 3], [0x19f, 3], [0x188, 2], [0x1eb, 3], [0x1ef, 3],
      [0x1f8, 4], [0x208, 5], [0x29f, 5]];
    for (const [off, version] of cases) {
      const r = report({ version }, (b) => { b[off] = off === 0x48 ? 0x20 : 0x01; });
      expectRefused(verify(r), 'parse', /reserved/);
    }
    // SIGNING_KEY 7 (no key) and other values are refused.
    expectRefused(verify(report({}, (b) => { b[0x48] = 7 << 2; })), 'parse', /SIGNING_KEY 7/);
    // v5 mitigation vectors are fields, not reserved bytes, from version 5 on.
    expect(verify(report({ version: 5 }, (b) => { b[0x1f8] = 1; b[0x200] = 3; })).ok).toBe(true);
  });
});

describe('ARK pinning and chains', () => {
  it('a look-alike chain (same names, other keys) is refused at the ARK, and its ASK under our ARK at the ASK', () => {
    const r = lookAlike.buildReport({ reportData: RD });
    expectRefused(verify(r, { vcek: lookAlike.vcek.der, askArk: lookAlike.askArkPem }), 'snp-ark', /not a pinned ARK/);
    expectRefused(verify(r, { vcek: lookAlike.vcek.der, askArk: lookAlike.ask.pem + milan.ark.pem }), 'snp-ask', /signature does not verify/);
    expectRefused(verify(r, { vcek: lookAlike.vcek.der }), 'snp-vcek', /not issued by this ASK/);
  });
  it('a VCEK signed directly by the ARK, or a VCEK under an ASK with the wrong name, is refused', async () => {
    const direct = await milan.issueVcek({ issuer: milan.ark, hwid: milan.vcek.hwid });
    expectRefused(verify(milan.buildReport({ reportData: RD }, { vcek: direct }), { vcek: direct.der }), 'snp-vcek', /not issued by this ASK/);
    const odd = await milan.issueCa('SEV-Genoa', milan.ark);
    expectRefused(verify(report(), { askArk: odd.pem + milan.ark.pem }), 'snp-ask', /'SEV-Genoa' is not 'SEV-Milan'/);
  });
  it('expired and not yet valid certificates are refused', async () => {
    const old = await milan.issueVcek({ hwid: milan.vcek.hwid, notBefore: new Date(NOW.getTime() - 10 * DAY), notAfter: new Date(NOW.getTime() - DAY) });
    expectRefused(verify(milan.buildReport({ reportData: RD }, { vcek: old }), { vcek: old.der }), 'snp-vcek', /VCEK has expired/);
    const ask = await milan.issueCa('SEV-Milan', milan.ark, { notBefore: new Date(NOW.getTime() + DAY) });
    const v = await milan.issueVcek({ issuer: ask, hwid: milan.vcek.hwid });
    expectRefused(verify(milan.buildReport({ reportData: RD }, { vcek: v }), { vcek: v.der, askArk: ask.pem + milan.ark.pem }), 'snp-ask', /SEV-Milan is not yet valid/);
    expectRefused(verify(report(), { now: new Date(NOW.getTime() + 4000 * DAY), crl: await milan.crl({ nextUpdate: new Date(NOW.getTime() + 5000 * DAY) }) }),
      'snp-ark', /ARK-Milan has expired/);
  });
  it('development ARKs must be self-signed roots named ARK-<product>', () => {
    expectRefused(verify(report(), { trustedArks: { Milan: milan.ask.der } }), 'snp-ark', /has CN 'SEV-Milan', expected 'ARK-Milan'/);
    expectRefused(verify(report(), { trustedArks: { Genoa: milan.ark.der } }), 'snp-ark', /has CN 'ARK-Milan', expected 'ARK-Genoa'/);
    expectRefused(verify(report(), { trustedArks: {} }), 'input', /no trusted ARK/);
    expectRefused(verify(report(), { askArk: undefined }), 'snp-ask', /no ASK given/);
  });
});

describe('VLEK', () => {
  it('a VLEK under its ASVK verifies; swapped key kinds and chains are refused', async () => {
    const { asvk, vlek } = await milan.issueVlek({ cspId: 'example-cloud' });
    const r = milan.buildReport({ reportData: RD }, { vcek: vlek });
    const v = accepted(verify(r, { vcek: vlek.der, askArk: asvk.pem + milan.ark.pem }));
    expect([v.signingKey, v.cspId]).toEqual(['VLEK', 'example-cloud']);
    // A VLEK report checked with the VCEK chain, a VCEK report claiming a VLEK, and a VLEK under the ASK.
    expectRefused(verify(r, { vcek: vlek.der }), 'snp-ask', /intermediate CN 'SEV-Milan' is not 'SEV-VLEK-Milan'/);
    expectRefused(verify(report(), { vcek: vlek.der, askArk: asvk.pem + milan.ark.pem }), 'snp-ask', /'SEV-VLEK-Milan' is not 'SEV-Milan'/);
    expectRefused(verify(report(), { vcek: vlek.der }), 'snp-vcek', /certificate CN is 'SEV-VLEK', expected 'SEV-VCEK'/);
    expectRefused(verify(report({}, (b) => { b[0x48] = 1 << 2; }), { askArk: asvk.pem + milan.ark.pem }), 'snp-vcek', /not issued by this ASK|CN is 'SEV-VCEK'/);
    expectRefused(verify(r, { vcek: vlek.der, askArk: asvk.pem + milan.ark.pem, crl: await milan.crl({ revokedSerials: [asvk.serial] }) }), 'snp-crl', /revoked/);
  });
});

describe('verification cache', () => {
  it('re-checks dates, the signature and the report at every call', async () => {
    const c = new SnpVerificationCache();
    const r = report();
    expect(verify(r, { cache: c }).ok).toBe(true);
    expectRefused(verify(r, { cache: c, now: new Date(NOW.getTime() + 40 * DAY) }), 'snp-crl', /expired/);
    const forged = Uint8Array.from(r);
    forged[0x90]! ^= 1;
    expectRefused(verify(forged, { cache: c }), 'snp-signature', /does not verify/);
    expectRefused(verify(report({ policy: 0x30000n | (1n << 19n) }), { cache: c }), 'snp-policy', /debugging/);
    // The same certificates under another trusted ARK set are not reused.
    expectRefused(verify(r, { cache: c, trustedArks: lookAlike.trustedArks }), 'snp-ark', /not a pinned ARK/);
  });
});
