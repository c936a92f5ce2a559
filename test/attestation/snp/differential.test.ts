// Differential test against @lit-protocol/sev-snp-utils-sdk 6.11 (virtee `sev` crate in WASM, AMD's
// Milan chain embedded, no CRL, no TCB/hwID/policy/VMPL checks): on every fixture case and on
// mutations of the real Milan report, both verdicts are recorded and every disagreement is listed
// with the rule that decides it (docs/sev-snp.md, "Differential test"). A change in either verifier
// shows up here.
import { SnpVerificationCache, verifySnpReport } from '../../../src/attestation/index.js';
import { createSnpDevAttestation, createSnpTestPki } from '../../../src/attestation/test-pki/snp.js';
import { litAccepts } from './lit-peer.js';
import { snpCase, snpManifest } from './snp-fixtures.js';

const cache = new SnpVerificationCache();
type Pair = { ours: 'accept' | string; lit: 'accept' | 'reject' };
const ours = (v: ReturnType<typeof verifySnpReport>) => (v.ok ? 'accept' : v.step);

/** Expected verdicts per fixture case; where they differ, why ours is right. */
const FIXTURE_VERDICTS: Record<string, Pair & { why?: string }> = {
  'virtee-milan-v2-ok': { ours: 'accept', lit: 'accept' },
  'azure-genoa-v3-ok': { ours: 'accept', lit: 'reject', why: 'the peer embeds only the Milan chain; the report verifies under AMD\'s Genoa ARK' },
  'gosev-milan-v2-debug': { ours: 'snp-policy', lit: 'accept', why: 'guest policy DEBUG: the host can read the guest, so no key may be released to it' },
  'gce-v4-wrong-vcek': { ours: 'snp-signature', lit: 'reject' },
  'virtee-milan-crl-expired': { ours: 'snp-crl', lit: 'accept', why: 'the peer checks no CRL and no time; a stale CRL could hide a revoked ASK' },
  'virtee-milan-wrong-product-chain': { ours: 'snp-vcek', lit: 'accept', why: 'the peer ignores the supplied chain and uses its own; we verify the collateral we are given' },
  'azure-genoa-no-crl': { ours: 'snp-crl', lit: 'reject' },
};

describe('verdicts on the fixture cases', () => {
  it('covers every case of the manifest', () => {
    expect(Object.keys(FIXTURE_VERDICTS).sort()).toEqual(snpManifest.cases.map((c) => c.id).sort());
  });
  for (const id of snpManifest.cases.map((c) => c.id)) {
    it(id, async () => {
      const { report, vcek, askArk, crl, now } = snpCase(id);
      const got: Pair = { ours: ours(verifySnpReport(report, { vcek, askArk, crl, now, cache })), lit: (await litAccepts(report, vcek)) ? 'accept' : 'reject' };
      const { why: _why, ...want } = FIXTURE_VERDICTS[id]!;
      expect(got).toEqual(want);
    });
  }
});

describe('mutations of the real Milan report', () => {
  const { report, vcek, askArk, crl, now } = snpCase('virtee-milan-v2-ok');
  const verify = (r: Uint8Array) => ours(verifySnpReport(r, { vcek, askArk, crl, now, cache }));

  it('both refuse a bit flip in the signed part (every 11th byte sampled)', async () => {
    for (let off = 0; off < 0x2a0; off += 11) {
      const r = Uint8Array.from(report);
      r[off]! ^= 1 << (off % 8);
      expect({ off, ours: verify(r) === 'accept', lit: await litAccepts(r, vcek) }).toEqual({ off, ours: false, lit: false });
    }
  });

  /** Edits outside the signed bytes: the peer accepts them, we refuse (the report is not one canonical encoding otherwise). */
  const unsigned: [string, (r: Uint8Array) => Uint8Array][] = [
    ['one byte appended', (r) => Uint8Array.from([...r, 0])],
    ['100 bytes appended', (r) => Uint8Array.from([...r, ...new Uint8Array(100).fill(7)])],
    ['last byte cut', (r) => r.subarray(0, r.length - 1)],
    ['cut after R and S', (r) => r.subarray(0, 0x2a0 + 144)],
    ['reserved signature byte set', (r) => { const x = Uint8Array.from(r); x[0x49f] = 1; return x; }],
    ['high (unused) byte of R set', (r) => { const x = Uint8Array.from(r); x[0x2a0 + 60] = 1; return x; }],
    ['high (unused) byte of S set', (r) => { const x = Uint8Array.from(r); x[0x2e8 + 71] = 0xff; return x; }],
  ];
  for (const [name, edit] of unsigned) {
    it(`${name}: the peer accepts, ours refuses at parse`, async () => {
      const r = edit(report);
      expect({ ours: verify(r), lit: await litAccepts(r, vcek) }).toEqual({ ours: 'parse', lit: true });
    });
  }

  it('both refuse the VCEK with trailing bytes, the report version 7 and signature algorithm 2', async () => {
    const longVcek = Uint8Array.from([...vcek, 1, 2]);
    expect([ours(verifySnpReport(report, { vcek: longVcek, askArk, crl, now, cache })), await litAccepts(report, longVcek)]).toEqual(['snp-vcek', false]);
    for (const [off, value] of [[0, 7], [0x34, 2]] as const) {
      const r = Uint8Array.from(report);
      new DataView(r.buffer).setUint32(off, value, true);
      expect([verify(r), await litAccepts(r, vcek)]).toEqual(['parse', false]);
    }
  });
});

describe('development PKI reports', () => {
  it('both refuse a development Milan report unless its ARK is named explicitly (the peer never trusts it)', async () => {
    const now = new Date('2026-01-15T00:00:00Z');
    const pki = await createSnpTestPki({ product: 'Milan', now });
    const a = await createSnpDevAttestation(pki, { reportData: new Uint8Array(64).fill(1) });
    expect(await litAccepts(a.report, a.vcek)).toBe(false);
    expect(ours(verifySnpReport(a.report, { vcek: a.vcek, askArk: a.askArk, crl: a.crl, now }))).toBe('snp-ark');
    expect(ours(verifySnpReport(a.report, { vcek: a.vcek, askArk: a.askArk, crl: a.crl, now, trustedArks: { Milan: a.ark } }))).toBe('accept');
  });
});
