// Named verification steps and the one error type verification raises internally. The step says
// where a quote was refused, the message says why, in words an operator can act on.

/** The checks of verifyQuote, in the order they run (Intel QVL QuoteVerifier numbering in verify.ts). */
export type VerifyStep =
  | 'input'              // arguments: trusted root, now
  | 'parse'              // quote bytes (QuoteParseError)
  | 'header'             // QE vendor id
  | 'collateral'         // collateral layout
  | 'trusted-root'       // pinned root, look-alike roots
  | 'root-crl'           // Intel SGX Root CA CRL
  | 'tcb-info'           // TCB info: issuer chain, signature, dates, id/version, evaluation number
  | 'qe-identity'        // QE identity: issuer chain, signature, dates, id/version, evaluation number
  | 'pck-chain'          // PCK leaf and CA from the quote, up to the pinned root
  | 'pck-crl'            // PCK CA CRL: signature, issuer, dates, revoked leaf
  | 'pck-extensions'     // SGX extensions of the PCK leaf
  | 'tcb-info-mismatch'  // FMSPC, PCE-ID, TEE type of the TCB info against PCK leaf and quote
  | 'qe-report-signature'
  | 'qe-report-data'     // SHA-256(attestation key || QE auth data) binding
  | 'qe-identity-mismatch'
  | 'quote-signature'
  | 'tdx-module'         // MRSIGNERSEAM, SEAM attributes, tdxModuleIdentities
  | 'tcb-level'          // no matching TCB level (Intel: TCB_NOT_SUPPORTED)
  | 'tcb-status'         // matched, but Revoked
  // AMD SEV-SNP (verifySnpReport in snp/verify.ts), in the order they run after 'input' and 'parse':
  | 'snp-ark'            // ARK pinned per product (AMD's, or a development ARK passed explicitly)
  | 'snp-ask'            // ASK (or ASVK for a VLEK) signed by the ARK, validity
  | 'snp-crl'            // ARK-signed CRL: present, signature, dates, ASK not listed
  | 'snp-vcek'           // VCEK/VLEK: signed by the ASK, validity, AMD extensions
  | 'snp-signature'      // report signature (ECDSA P-384 SHA-384) by the VCEK/VLEK
  | 'snp-product'        // product of the chain, the VCEK and the report's CPUID agree
  | 'snp-tcb'            // REPORTED_TCB equal to the VCEK's TCB extensions
  | 'snp-hwid'           // VCEK hwID equal to CHIP_ID
  | 'snp-policy'         // guest policy: DEBUG, MIGRATE_MA, ABI minimum, reserved bits
  | 'snp-vmpl';          // VMPL of the requester

export class VerificationError extends Error {
  override name = 'VerificationError';
  constructor(readonly step: VerifyStep, message: string) { super(message); }
}

export function fail(step: VerifyStep, message: string): never {
  throw new VerificationError(step, message);
}
