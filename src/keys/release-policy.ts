// Release policies (DESIGN §5, §6; docs/provisioning.md §6): which attested workers may receive the keys
// of a contract namespace. Signed by m governance keys; each member checks every release against it.
import { bytesToHex } from '@noble/hashes/utils.js';
import { boundedText, parsePolicy, PolicyFormatError, type AttestationPolicy, type PolicyTee } from '../attestation/policy.js';

/** Most namespaces one policy may carry. */
const MAX_NAMESPACES = 1024;
import { verifyTagged } from '../crypto/identity.js';

export interface ReleasePolicy {
  id: string;
  serial: number;
  publicationQuorum: number;
  attestation: AttestationPolicy;
  /** Each namespace's allow-lists; a TEE without its block is refused for that namespace. */
  namespaces: Record<string, Pick<AttestationPolicy, 'sgx' | 'tdx' | 'snp'>>;
}

export class ReleasePolicyError extends Error {
  override name = 'ReleasePolicyError';
  constructor(message: string, readonly kind: 'invalid' | 'unauthorized' = 'invalid') {
    super(message);
  }
}

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MEASUREMENT_FIELDS = ['sgx', 'tdx', 'snp', 'reportData'];
const NAMESPACE_FIELDS = ['sgx', 'tdx', 'snp'];

/** Parses the policy JSON bytes strictly (docs/release-policy.md). */
export function parseReleasePolicy(bytes: Uint8Array): ReleasePolicy {
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ReleasePolicyError('the release policy is not valid UTF-8 JSON');
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new ReleasePolicyError('the release policy must be a JSON object');
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!['id', 'serial', 'publicationQuorum', 'attestation', 'namespaces'].includes(k)) throw new ReleasePolicyError(`unknown release policy field '${boundedText(k)}'`);
  }
  if (typeof r.id !== 'string' || !ID.test(r.id)) throw new ReleasePolicyError('id must be 1-64 lowercase letters, digits, ".", "_" or "-"');
  if (!Number.isInteger(r.serial) || (r.serial as number) < 1 || (r.serial as number) > 0xffffffff) throw new ReleasePolicyError('serial must be a positive 32-bit integer');
  const quorum = r.publicationQuorum ?? 0;
  if (!Number.isInteger(quorum) || (quorum as number) < 0 || (quorum as number) > 255) throw new ReleasePolicyError('publicationQuorum must be an integer from 0 to 255');
  const att = r.attestation ?? {};
  if (!att || typeof att !== 'object' || Array.isArray(att)) throw new ReleasePolicyError('attestation must be an object');
  for (const k of MEASUREMENT_FIELDS) {
    if (k in att) throw new ReleasePolicyError(`attestation.${k} is not allowed: measurements belong to a namespace`);
  }
  let attestation: AttestationPolicy;
  try { attestation = parsePolicy(att); } catch (err) { throw wrap(err, 'attestation'); }
  if (!r.namespaces || typeof r.namespaces !== 'object' || Array.isArray(r.namespaces)) throw new ReleasePolicyError('namespaces must be an object');
  const entries = Object.entries(r.namespaces as Record<string, unknown>);
  if (entries.length > MAX_NAMESPACES) throw new ReleasePolicyError(`namespaces lists more than ${MAX_NAMESPACES} namespaces`);
  const namespaces: ReleasePolicy['namespaces'] = {};
  for (const [ns, v] of entries) {
    if (!ID.test(ns)) throw new ReleasePolicyError(`namespace '${boundedText(ns)}' must be 1-64 lowercase letters, digits, ".", "_" or "-"`);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ReleasePolicyError(`namespaces.${ns} must be an object`);
    for (const k of Object.keys(v)) {
      if (!NAMESPACE_FIELDS.includes(k)) throw new ReleasePolicyError(`namespaces.${ns}.${boundedText(k)}: only sgx, tdx and snp allow-lists go here`);
    }
    let p: AttestationPolicy;
    try { p = parsePolicy(v); } catch (err) { throw wrap(err, `namespaces.${ns}`); }
    // parsePolicy refuses a block without its allow-list, so a block present means a TEE admitted.
    if (!p.sgx && !p.tdx && !p.snp) throw new ReleasePolicyError(`namespaces.${ns} must allow-list measurements for at least one TEE (sgx, tdx or snp)`);
    const admitted = (['sgx', 'tdx', 'snp'] as const).filter((t) => p[t] && (!attestation.tees || attestation.tees.includes(t.toUpperCase() as PolicyTee)));
    if (admitted.length === 0) throw new ReleasePolicyError(`namespaces.${ns} admits no TEE: attestation.tees excludes every allow-list it has`);
    namespaces[ns] = { ...(p.sgx ? { sgx: p.sgx } : {}), ...(p.tdx ? { tdx: p.tdx } : {}), ...(p.snp ? { snp: p.snp } : {}) };
  }
  return { id: r.id, serial: r.serial as number, publicationQuorum: quorum as number, attestation, namespaces };
}

function wrap(err: unknown, where: string): ReleasePolicyError {
  if (err instanceof PolicyFormatError) return new ReleasePolicyError(`${where}: ${err.message}`);
  return new ReleasePolicyError(`${where}: ${err instanceof Error ? err.message : String(err)}`);
}

/** Signatures a signed release policy may carry at most (as contract governance actions). */
export const MAX_POLICY_SIGNATURES = 64;

/** Checks that `threshold` distinct configured governance keys signed the policy bytes (tag "policy"). */
export function verifyPolicySignatures(bytes: Uint8Array, signatures: { key: Uint8Array; signature: Uint8Array }[],
  governanceKeys: string[], threshold: number): void {
  // Bounded work (bench/chaos found a 1 MB SetReleasePolicy of one signature repeated ~10^4 times taking
  // over 15 s): at most MAX_POLICY_SIGNATURES entries, and each configured key verified once.
  if (signatures.length > MAX_POLICY_SIGNATURES) {
    throw new ReleasePolicyError(`the policy carries ${signatures.length} signatures; at most ${MAX_POLICY_SIGNATURES} are accepted`);
  }
  const allowed = new Set(governanceKeys);
  const good = new Set<string>();
  for (const s of signatures) {
    if (!(s?.key instanceof Uint8Array) || !(s.signature instanceof Uint8Array)) continue;
    const k = bytesToHex(s.key);
    if (allowed.has(k) && !good.has(k) && verifyTagged(s.key, 'policy', bytes, s.signature)) good.add(k);
  }
  if (governanceKeys.length === 0 || good.size < threshold) {
    throw new ReleasePolicyError(`the policy carries ${good.size} valid governance signature(s); ${threshold} are required`, 'unauthorized');
  }
}

/**
 * The attestation policy a worker of `namespace` must meet, with its expected report_data. The TEEs
 * it admits are derived from the namespace (those it has an allow-list for), intersected with
 * `attestation.tees` when that is given.
 */
export function attestationPolicyFor(policy: ReleasePolicy, namespace: string, reportData: Uint8Array): AttestationPolicy {
  const ns = Object.hasOwn(policy.namespaces, namespace) ? policy.namespaces[namespace] : undefined;
  if (!ns) throw new ReleasePolicyError(`release policy '${policy.id}' has no namespace '${boundedText(namespace)}'`);
  const listed: PolicyTee[] = [...(ns.sgx ? ['SGX' as const] : []), ...(ns.tdx ? ['TDX' as const] : []), ...(ns.snp ? ['SNP' as const] : [])];
  const tees = policy.attestation.tees ? listed.filter((t) => policy.attestation.tees!.includes(t)) : listed;
  return { ...policy.attestation, tees, sgx: ns.sgx, tdx: ns.tdx, snp: ns.snp, reportData: bytesToHex(reportData) };
}
