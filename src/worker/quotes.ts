// DEVELOPMENT ONLY: stands in for a TEE's quoting enclave. Makes a real-format quote (SGX v3 or
// TDX v4) from the test PKI whose report_data is the worker SDK's binding (docs/provisioning.md §2)
// and whose measurements are what the config claims.
import type { QuoteMaker } from '../sdk/worker.js';
import type { Measurements } from './config.js';
import type { LoadedTestPki } from './test-pki-file.js';

export function testPkiQuoteMaker(pki: LoadedTestPki, m: Measurements): QuoteMaker {
  return async (reportData) => {
    if (!(reportData instanceof Uint8Array) || reportData.length !== 64) throw new RangeError('report_data must be 64 bytes');
    const quote = m.tee === 'SGX'
      ? pki.buildSgxQuoteV3({ mrEnclave: m.mrEnclave, mrSigner: m.mrSigner, isvProdId: m.isvProdId, isvSvn: m.isvSvn, reportData })
      : pki.buildTdxQuoteV4({ mrTd: m.mrTd, reportData });
    return { quote, collateralJson: pki.collateralJson(m.tee) };
  };
}
