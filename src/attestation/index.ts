// Intel DCAP and AMD SEV-SNP attestation for Gatekeeper (DESIGN §6): quote parsing, offline verification against
// collateral with a pinned root, and release policy. The test PKI lives in ./test-pki/ and is
// imported from there explicitly, never from here.
export { parseQuote, QuoteParseError, type Quote, type SgxQuote, type TdxQuote, type SgxReportBody, type TdReportBody,
  type QuoteHeader } from './quote.js';
export { loadCollateral, CollateralFormatError, TCB_STATUSES, type Collateral, type TcbStatusName } from './collateral.js';
export { verifyQuote, VerificationCache, type Verdict, type AcceptedVerdict, type RejectedVerdict, type SgxVerdict,
  type TdxVerdict, type VerifyOptions } from './verify.js';
export type { VerifyStep } from './errors.js';
export { QUOTE_TCB_STATUSES, type QuoteTcbStatus } from './tcb.js';
export { INTEL_SGX_ROOT_CA_SHA256, INTEL_SGX_ROOT_CA_DER, isIntelSgxRootCa } from './intel-root.js';
export { evaluateBaseline, evaluatePolicy, parsePolicy, PolicyFormatError, type AttestationPolicy, type PolicyCheck,
  type PolicyInput, type PolicyResult, type PolicyTee, type RejectedSnpEvidence, type SnpEvidence, type SgxPolicy, type SnpPolicy,
  type TdxPolicy } from './policy.js';
export { verifySnpReport, SnpVerificationCache, parseSnpReport, SnpReportParseError, AMD_ARK_DER, AMD_ARK_SHA256, AMD_ASK_DER,
  SNP_PRODUCTS, amdArkProduct, type SnpVerdict, type SnpAcceptedVerdict, type SnpRejectedVerdict, type SnpVerifyInput,
  type SnpVerifyOptions, type SnpGuestPolicy, type SnpProduct, type SnpReport, type SnpTcb, snpVerifyOptionsFor } from './snp/index.js';
