// The SEV-SNP verifier's options derived from an attestation policy (docs/release-policy.md): the
// verifier enforces the guest-policy checks (DEBUG, MIGRATE_MA, minimum ABI) and the VMPL with the
// same values the policy's evaluation then checks again, so a node and `gatekeeper attestation
// verify --policy` agree. Defaults are the strict ones: no debug, no migration agent, VMPL 0, ABI 0.0.
import type { AttestationPolicy } from '../policy.js';
import type { SnpVerifyOptions } from './verify.js';

/** Verification options for an SNP report under `policy` (parsed by parsePolicy; undefined: the defaults). */
export function snpVerifyOptionsFor(policy: AttestationPolicy | undefined): SnpVerifyOptions {
  const snp = policy?.snp;
  const out: SnpVerifyOptions = { allowDebug: policy?.allowDebug === true, allowMigrateMa: snp?.allowMigrateMa === true, vmpl: snp?.vmpl ?? 0 };
  const m = snp?.minAbi !== undefined ? /^(\d{1,3})\.(\d{1,3})$/.exec(snp.minAbi) : null;
  if (m) out.minAbi = { major: Number(m[1]), minor: Number(m[2]) };
  return out;
}
