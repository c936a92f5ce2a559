// Every case of fixtures/sev-snp/manifest.json gives its verdict under the strict defaults, the
// decoded report and VCEK fields equal the manifest's, the go-sev-guest report verifies once debug is
// explicitly allowed, and the embedded AMD ARKs/ASKs are the fixtures' byte for byte.
import * as pkijs from 'pkijs';
import { AMD_ARK_DER, AMD_ASK_DER, amdArkProduct, parseSnpReport, SnpVerificationCache, verifySnpReport, type SnpVerdict } from '../../../src/attestation/index.js';
import { parseAmdKeyExtensions } from '../../../src/attestation/snp/vcek.js';
import { checkIssuedByRsaPss, parseCertDer } from '../../../src/attestation/x509.js';
import { pemCerts, readSnp, snpCase, snpManifest } from './snp-fixtures.js';

/** Where the strict verifier refuses each rejected case, and words the reason must contain. */
const REJECTIONS: Record<string, { step: string; words: RegExp }> = {
  'gosev-milan-v2-debug': { step: 'snp-policy', words: /guest policy allows debugging \(POLICY bit 19\)/ },
  // A Milan v4 report with a Genoa VCEK: the signature is the first check that involves the report.
  'gce-v4-wrong-vcek': { step: 'snp-signature', words: /report signature does not verify with the VCEK/ },
  'virtee-milan-crl-expired': { step: 'snp-crl', words: /CRL has expired \(nextUpdate 2026-05-12/ },
  'virtee-milan-wrong-product-chain': { step: 'snp-vcek', words: /VCEK not issued by this ASK \(SEV-Genoa\)/ },
  'azure-genoa-no-crl': { step: 'snp-crl', words: /no CRL supplied/ },
};

const u64hex = (b: Uint8Array) => `0x${Buffer.from(b).readBigUInt64LE(0).toString(16)}`;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('fixtures/sev-snp/manifest.json', () => {
  for (const id of snpManifest.cases.map((c) => c.id)) {
    it(`${id}: ${snpCase(id).c.expected.verdict}`, () => {
      const { c, report, vcek, askArk, crl, now } = snpCase(id);
      const v: SnpVerdict = verifySnpReport(report, { vcek, askArk, crl, now, cache: new SnpVerificationCache() });
      if (c.expected.verdict === 'accept') {
        if (!v.ok) throw new Error(`${id} rejected at ${v.step}: ${v.error}`);
        const f = c.reportFields;
        expect({
          reportVersion: v.reportVersion, guestSvn: v.guestSvn, policy: v.policy.raw, vmpl: v.vmpl, reportData: v.reportData,
          measurement: v.measurement, hostData: v.hostData, chipId: v.chipId, platformInfo: v.platformInfo,
          reportedTcb: [v.reportedTcb.bootloader, v.reportedTcb.tee, v.reportedTcb.snp, v.reportedTcb.microcode],
        }).toEqual({
          reportVersion: f.version, guestSvn: f.guestSvn, policy: f.policy, vmpl: f.vmpl, reportData: f.reportData,
          measurement: f.measurement, hostData: f.hostData, chipId: f.chipId, platformInfo: f.platformInfo,
          reportedTcb: [c.vcekFields.blSPL, c.vcekFields.teeSPL, c.vcekFields.snpSPL, c.vcekFields.ucodeSPL],
        });
        expect([v.tee, v.signingKey, v.productName, v.debug, v.migrateMa]).toEqual(['SNP', 'VCEK', c.vcekFields.product, false, false]);
        expect(v.product).toBe(c.vcekFields.product.split('-')[0]);
        expect(v.idKeyDigest).toMatch(/^[0-9a-f]{96}$/);
        expect(v.authorKeyDigest).toMatch(/^[0-9a-f]{96}$/);
      } else {
        const want = REJECTIONS[id];
        if (want === undefined) throw new Error(`no expectation recorded for rejected case ${id}`);
        expect(v.ok ? 'accepted' : { step: v.step, error: v.error, tee: v.tee }).toEqual({ step: want.step, error: expect.stringMatching(want.words), tee: 'SNP' });
      }
    });

    it(`${id}: parsed report and VCEK fields equal the manifest's`, () => {
      const { c, report, vcek } = snpCase(id);
      const r = parseSnpReport(report);
      const f = c.reportFields;
      expect({
        version: r.version, guestSvn: r.guestSvn, policy: `0x${r.policy.toString(16)}`, vmpl: r.vmpl, signatureAlgo: r.signatureAlgo,
        currentTcb: u64hex(r.currentTcb), platformInfo: `0x${r.platformInfo.toString(16)}`, reportData: hex(r.reportData),
        measurement: hex(r.measurement), hostData: hex(r.hostData), reportedTcb: u64hex(r.reportedTcb), chipId: hex(r.chipId),
        ...(f.cpuidFamModStep ? { cpuidFamModStep: [r.cpuid!.family, r.cpuid!.model, r.cpuid!.stepping].map((x) => x.toString(16).padStart(2, '0')).join('') } : {}),
      }).toEqual(Object.fromEntries(Object.entries(f).filter(([k]) => k !== 'signatureVerifiesWithVcek')));
      const cert = parseCertDer(vcek, 'snp-vcek', 'VCEK');
      const ext = parseAmdKeyExtensions(cert.asn, 'VCEK', false);
      const vf = c.vcekFields;
      expect({ product: ext.productName, hwid: hex(ext.hwid!), blSPL: ext.tcb.bootloader, teeSPL: ext.tcb.tee, snpSPL: ext.tcb.snp,
        ucodeSPL: ext.tcb.microcode, notBefore: new Date(cert.notBefore).toISOString(), notAfter: new Date(cert.notAfter).toISOString() })
        .toEqual({ ...vf, notBefore: new Date(vf.notBefore).toISOString(), notAfter: new Date(vf.notAfter).toISOString() });
    });
  }

  it('the go-sev-guest report verifies when debug is explicitly allowed, and reports debug', () => {
    const { report, vcek, askArk, crl, now } = snpCase('gosev-milan-v2-debug');
    const v = verifySnpReport(report, { vcek, askArk, crl, now, options: { allowDebug: true } });
    if (!v.ok) throw new Error(`rejected at ${v.step}: ${v.error}`);
    expect([v.product, v.reportVersion, v.debug, v.policy.debug, v.policy.smt, v.reportData.slice(0, 10)]).toEqual(['Milan', 2, true, true, true, '0102030405']);
  });

  it('the accepted fixtures also verify without --ask-ark, from the embedded ASK', () => {
    for (const id of ['virtee-milan-v2-ok', 'azure-genoa-v3-ok']) {
      const { report, vcek, crl, now } = snpCase(id);
      const v = verifySnpReport(report, { vcek, crl, now });
      expect(v.ok ? 'accepted' : `${v.step}: ${v.error}`).toBe('accepted');
    }
  });

  it('the embedded AMD ARKs and ASKs are the fixtures\' byte for byte', () => {
    for (const [product, file] of [['Milan', 'amd/ask_ark_milan.pem'], ['Genoa', 'amd/ask_ark_genoa.pem'], ['Turin', 'amd/ask_ark_turin.pem']] as const) {
      const [ask, ark] = pemCerts(readSnp(file));
      expect(Buffer.from(AMD_ARK_DER[product]).equals(Buffer.from(ark!))).toBe(true);
      expect(Buffer.from(AMD_ASK_DER[product]).equals(Buffer.from(ask!))).toBe(true);
      expect(amdArkProduct(ark!)).toBe(product);
      expect(amdArkProduct(ask!)).toBeUndefined();
    }
  });

  it('Turin: the fixture VCEK chains to the pinned Turin ARK and decodes the Turin TCB (with FMC) and 8-byte hwID', () => {
    const vcek = parseCertDer(readSnp('virtee-sev/vcek_turin.der'), 'snp-vcek', 'VCEK');
    const ask = parseCertDer(AMD_ASK_DER.Turin, 'snp-ask', 'ASK');
    const ark = parseCertDer(AMD_ARK_DER.Turin, 'snp-ark', 'ARK');
    checkIssuedByRsaPss(ask, ark, 'snp-ask', 'ASK');
    checkIssuedByRsaPss(vcek, ask, 'snp-vcek', 'VCEK');
    expect(() => checkIssuedByRsaPss(vcek, parseCertDer(AMD_ASK_DER.Genoa, 'snp-ask', 'ASK'), 'snp-vcek', 'VCEK')).toThrow(/issuer/);
    const ext = parseAmdKeyExtensions(vcek.asn, 'VCEK', true);
    expect([ext.productName, ext.tcb, hex(ext.hwid!)]).toEqual(['Turin', { bootloader: 0, tee: 0, snp: 0, microcode: 9, fmc: 0 }, '1e550a8ee5cf9f4d']);
    expect(vcek.asn).toBeInstanceOf(pkijs.Certificate);
  });
});
