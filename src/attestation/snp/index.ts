// AMD SEV-SNP attestation for Gatekeeper (DESIGN §6, docs/sev-snp.md): report parsing, AMD's pinned
// ARKs, and offline verification against VCEK/VLEK, ASK and CRL. The development PKI lives in
// ../test-pki/snp.ts and is imported from there explicitly, never from here.
export { parseSnpReport, decodeTcb, productOfCpuid, SnpReportParseError, POLICY as SNP_POLICY_BITS, SNP_REPORT_SIZE,
  SNP_SIGNED_SIZE, type SnpReport, type SnpSigningKey, type SnpTcb } from './report.js';
export { AMD_ARK_DER, AMD_ARK_SHA256, AMD_ASK_DER, SNP_PRODUCTS, amdArkProduct, type SnpProduct } from './amd-roots.js';
export { parseAmdKeyExtensions, OID_AMD_SEV, type AmdKeyExtensions } from './vcek.js';
export { verifySnpReport, SnpVerificationCache, type SnpVerdict, type SnpAcceptedVerdict, type SnpRejectedVerdict,
  type SnpVerifyInput, type SnpVerifyOptions, type SnpGuestPolicy } from './verify.js';
export { snpVerifyOptionsFor } from './options.js';
