// Differential test against @phala/dcap-qvl 0.3.9 (JS peer): on every accepted fixture case both
// verifiers report the same TCB status and advisory IDs; on development-PKI quotes too, across
// TCB levels where Intel's status rules apply. Cases the peer wrongly accepts are listed so a
// change in either verifier shows up here.
import { createRequire } from 'node:module';
import { loadCollateral, verifyQuote, VerificationCache } from '../../src/attestation/index.js';
import { createTestPki } from '../../src/attestation/test-pki/index.js';
import { fixtureCase, intelRoot, manifest } from './dcap-fixtures.js';

interface PeerReport { status: string; advisory_ids: string[] }
interface Peer {
  verify(quote: Uint8Array, collateral: unknown, nowSecs: number): PeerReport;
  QuoteVerifier: { newWithRootCa(der: Uint8Array): { verify(q: Uint8Array, c: unknown, now: number): PeerReport } };
}
const peer = createRequire(import.meta.url)('@phala/dcap-qvl') as Peer;
const cache = new VerificationCache();

describe('same status and advisories as @phala/dcap-qvl on accepted fixture cases', () => {
  const accepted = manifest.cases.filter((c) => c.expected.verdict === 'accept');
  it('covers every accepted case of the manifest', () => {
    expect(accepted.map((c) => c.id)).toEqual(['phala-sgx-v3', 'phala-sgx-v3-collateral-2023', 'phala-tdx-v4', 'phala-near-tdx-v4', 'gotdx-tdx-v5']);
  });
  for (const c of accepted) {
    it(c.id, () => {
      const { quote, collateralJson } = fixtureCase(c.id);
      const ours = verifyQuote(quote, loadCollateral(collateralJson), { now: c.now, trustedRoot: intelRoot, cache });
      const theirs = peer.verify(Buffer.from(quote), collateralJson, c.now);
      if (!ours.ok) throw new Error(`${c.id}: ours refused at ${ours.step}: ${ours.error}`);
      expect({ status: ours.status, advisoryIds: ours.advisoryIds }).toEqual({ status: theirs.status, advisoryIds: theirs.advisory_ids });
    });
  }
});

describe('same status and advisories as @phala/dcap-qvl on development-PKI quotes', () => {
  const NOW = new Date('2026-01-15T00:00:00Z');
  const now = NOW.getTime() / 1000;
  const levels = {
    UpToDate: [{ status: 'UpToDate' as const }],
    SWHardeningNeeded: [{ status: 'UpToDate' as const, sgxComponents: new Array<number>(16).fill(9) },
      { status: 'SWHardeningNeeded' as const, advisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00657'] }],
    ConfigurationNeeded: [{ status: 'ConfigurationNeeded' as const, advisoryIds: ['INTEL-SA-00289'] }],
    OutOfDate: [{ status: 'UpToDate' as const, pceSvn: 14 }, { status: 'OutOfDate' as const, advisoryIds: ['INTEL-SA-00828'] }],
  };
  for (const [name, tcbLevels] of Object.entries(levels)) {
    it(`SGX ${name}`, async () => {
      const pki = await createTestPki({ now: NOW });
      const collateral = await pki.collateral({ tee: 'SGX', tcbLevels });
      const quote = pki.buildSgxQuoteV3({ mrEnclave: new Uint8Array(32), mrSigner: new Uint8Array(32), isvProdId: 1, isvSvn: 1, reportData: new Uint8Array(64) });
      const ours = verifyQuote(quote, collateral, { now, trustedRoot: pki.rootDer, cache });
      const theirs = peer.QuoteVerifier.newWithRootCa(Buffer.from(pki.rootDer)).verify(Buffer.from(quote), { ...collateral }, now);
      if (!ours.ok) throw new Error(`refused at ${ours.step}: ${ours.error}`);
      expect(ours.status).toBe(name);
      expect({ status: ours.status, advisoryIds: ours.advisoryIds }).toEqual({ status: theirs.status, advisoryIds: theirs.advisory_ids });
    });
  }
});

describe('where the peer is lenient and we are strict (measured, not required of the peer)', () => {
  const sgx = fixtureCase('phala-sgx-v3');
  const cases: [string, Record<string, string>][] = [
    ['empty CRLs', { ...sgx.collateralJson, root_ca_crl: '', pck_crl: '' }],
    ['root CRL used as PCK CRL', { ...sgx.collateralJson, pck_crl: sgx.collateralJson.root_ca_crl! }],
  ];
  for (const [name, col] of cases) {
    it(name, () => {
      expect(peer.verify(Buffer.from(sgx.quote), col, sgx.c.now).status).toBe('ConfigurationAndSWHardeningNeeded');
      expect(verifyQuote(sgx.quote, loadCollateral(col), { now: sgx.c.now, trustedRoot: intelRoot, cache }).ok).toBe(false);
    });
  }
});
