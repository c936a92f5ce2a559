// DEVELOPMENT ONLY: stands in for a TEE's quoting enclave or AMD secure processor. Makes a
// real-format quote (SGX v3 or TDX v4) or SEV-SNP attestation report from the test PKI whose
// report_data / REPORT_DATA is the worker SDK's binding (docs/provisioning.md §2) and whose
// measurements are what the config claims.
import type { DcapAttestation, QuoteMaker, SnpAttestation } from '../sdk/worker.js';
import type { DcapMeasurements, Measurements } from './config.js';
import { TestPkiFileError, type LoadedTestPki } from './test-pki-file.js';

function checkReportData(reportData: Uint8Array): void {
  if (!(reportData instanceof Uint8Array) || reportData.length !== 64) throw new RangeError('report_data must be 64 bytes');
}

/** DCAP quotes (SGX v3 or TDX v4) with the test PKI's collateral. */
export function dcapQuoteMaker(pki: LoadedTestPki, m: DcapMeasurements): (reportData: Uint8Array) => Promise<DcapAttestation> {
  return async (reportData) => {
    checkReportData(reportData);
    const quote = m.tee === 'SGX'
      ? pki.buildSgxQuoteV3({ mrEnclave: m.mrEnclave, mrSigner: m.mrSigner, isvProdId: m.isvProdId, isvSvn: m.isvSvn, reportData })
      : pki.buildTdxQuoteV4({ mrTd: m.mrTd, reportData });
    return { quote, collateralJson: pki.collateralJson(m.tee) };
  };
}

/** SEV-SNP reports signed by the development VCEK, with the VCEK, ASK/ARK and CRL the file holds. */
export function snpReportMaker(pki: LoadedTestPki, measurement: Uint8Array): (reportData: Uint8Array) => Promise<SnpAttestation> {
  const snp = pki.snp;
  if (!snp) throw new TestPkiFileError('the test PKI file has no SEV-SNP development PKI: a worker with "tee": "SNP" needs one');
  return async (reportData) => {
    checkReportData(reportData);
    return { snp: { report: snp.buildReport({ reportData, measurement }), vcek: snp.vcekDer, askArkPem: snp.askArkPem, crl: snp.crlDer } };
  };
}

/** The development worker's evidence maker for its configured TEE. */
export function testPkiQuoteMaker(pki: LoadedTestPki, m: Measurements): QuoteMaker {
  return m.tee === 'SNP' ? snpReportMaker(pki, m.measurement) : dcapQuoteMaker(pki, m);
}
