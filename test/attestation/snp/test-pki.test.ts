// The development SNP PKI is AMD-shaped (names, RSASSA-PSS SHA-384, extensions), marked as
// development, never one of AMD's pinned ARKs, and its report builder writes the ABI layout that the
// parser reads back field by field (versions 2-5, Turin's TCB layout).
import { X509Certificate } from 'node:crypto';
import { AMD_ARK_DER, amdArkProduct, parseSnpReport, SnpVerificationCache, verifySnpReport } from '../../../src/attestation/index.js';
import { decodeTcb } from '../../../src/attestation/snp/index.js';
import { createSnpTestPki, encodeSnpTcb, type SnpTestPki } from '../../../src/attestation/test-pki/snp.js';
import { snpCase } from './snp-fixtures.js';

const NOW = new Date('2026-01-15T00:00:00Z');
let milan: SnpTestPki;
let turin: SnpTestPki;
beforeAll(async () => {
  [milan, turin] = await Promise.all([createSnpTestPki({ now: NOW }), createSnpTestPki({ product: 'Turin', now: NOW })]);
}, 60_000);

describe('development SNP PKI', () => {
  it('has AMD\'s names, one attribute per RDN, RSASSA-PSS signatures and a DEVELOPMENT organisation', () => {
    const ark = new X509Certificate(milan.ark.der);
    expect(ark.subject.split('\n')).toEqual(['OU=Engineering', 'C=US', 'L=Santa Clara', 'ST=CA', 'O=Gatekeeper DEVELOPMENT test PKI - not AMD', 'CN=ARK-Milan']);
    expect(new X509Certificate(milan.ask.der).subject).toMatch(/CN=SEV-Milan$/);
    expect(new X509Certificate(milan.vcek.der).subject).toMatch(/CN=SEV-VCEK$/);
    expect(milan.vcek.asn.signatureAlgorithm.algorithmId).toBe('1.2.840.113549.1.1.10');
    expect(amdArkProduct(milan.ark.der)).toBeUndefined();
    expect(Buffer.from(milan.ark.der).equals(Buffer.from(AMD_ARK_DER.Milan))).toBe(false);
  });

  it('the exported AMD ARKs are frozen copies: editing them changes nothing the verifier trusts', () => {
    const { report, vcek, askArk, crl, now } = snpCase('virtee-milan-v2-ok');
    const copy = AMD_ARK_DER.Milan;
    const saved = copy.slice();
    try {
      copy.fill(0);
      expect(() => { (AMD_ARK_DER as Record<string, Uint8Array>).Milan = milan.ark.der; }).toThrow(TypeError);
      const v = verifySnpReport(report, { vcek, askArk, crl, now, cache: new SnpVerificationCache() });
      expect(v.ok ? 'accepted' : v.step).toBe('accepted');
    } finally {
      copy.set(saved);
    }
  });

  it('reports round-trip through the parser for versions 2 to 5', () => {
    const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
    for (const version of [2, 3, 4, 5]) {
      const r = parseSnpReport(milan.buildReport({
        version, reportData: fill(64, 1), measurement: fill(48, 2), hostData: fill(32, 3), idKeyDigest: fill(48, 4),
        authorKeyDigest: fill(48, 5), familyId: fill(16, 6), imageId: fill(16, 7), guestSvn: 9, policy: 0x1b0102n, vmpl: 1, firmware: [1, 57, 8],
      }));
      expect({ version: r.version, rd: r.reportData[0], m: r.measurement[0], h: r.hostData[0], id: r.idKeyDigest[0], a: r.authorKeyDigest[0],
        f: r.familyId[0], i: r.imageId[0], svn: r.guestSvn, pol: r.policy, vmpl: r.vmpl, fw: r.currentVersion, cpuid: r.cpuid,
        chip: Buffer.from(r.chipId).equals(Buffer.from(milan.vcek.hwid!)) })
        .toEqual({ version, rd: 1, m: 2, h: 3, id: 4, a: 5, f: 6, i: 7, svn: 9, pol: 0x1b0102n, vmpl: 1, fw: { major: 1, minor: 57, build: 8 },
          cpuid: version >= 3 ? { family: 0x19, model: 1, stepping: 1 } : undefined, chip: true });
    }
  });

  it('Turin reports use the Turin TCB layout (FMC first) and an 8-byte hwID', () => {
    const tcb = { fmc: 5, bootloader: 6, tee: 7, snp: 8, microcode: 9 };
    expect([...encodeSnpTcb(tcb, 'Turin')]).toEqual([5, 6, 7, 8, 0, 0, 0, 9]);
    expect(decodeTcb(encodeSnpTcb(tcb, 'Turin'), true)).toEqual(tcb);
    expect([...encodeSnpTcb(tcb, 'Milan')]).toEqual([6, 7, 0, 0, 0, 0, 8, 9]);
    const r = parseSnpReport(turin.buildReport({ reportData: new Uint8Array(64) }));
    expect(decodeTcb(r.reportedTcb, true)).toEqual(turin.vcek.tcb);
    expect(turin.vcek.hwid!.length).toBe(8);
    expect(r.cpuid).toEqual({ family: 0x1a, model: 2, stepping: 0 });
  });
});
