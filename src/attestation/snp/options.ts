// The SEV-SNP verification options as JSON (the CLI's --policy for a report): an `snp` object with
// allowDebug, allowMigrateMa, vmpl and minAbi ("MAJOR.MINOR"). Unknown keys are refused rather than
// ignored, so a policy that asks for more than these checks never passes silently.
import type { SnpVerifyOptions } from './verify.js';

export class SnpOptionsFormatError extends Error {
  override name = 'SnpOptionsFormatError';
}

const KEYS = new Set(['allowDebug', 'allowMigrateMa', 'vmpl', 'minAbi']);

/** Parses `{ "snp": { ... } }` (a top-level `allowDebug` is honoured too, as in the DCAP policy). */
export function parseSnpVerifyOptions(text: string): SnpVerifyOptions {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { throw new SnpOptionsFormatError('policy is not valid JSON'); }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new SnpOptionsFormatError('policy must be a JSON object');
  const top = doc as Record<string, unknown>;
  const snp = top.snp ?? {};
  if (snp === null || typeof snp !== 'object' || Array.isArray(snp)) throw new SnpOptionsFormatError('policy.snp must be an object');
  const s = snp as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!KEYS.has(k)) throw new SnpOptionsFormatError(`policy.snp.${k.slice(0, 40)} is not supported (allowDebug, allowMigrateMa, vmpl, minAbi)`);
  const out: SnpVerifyOptions = {};
  const allowDebug = s.allowDebug ?? top.allowDebug;
  if (allowDebug !== undefined) {
    if (typeof allowDebug !== 'boolean') throw new SnpOptionsFormatError('allowDebug must be a boolean');
    out.allowDebug = allowDebug;
  }
  if (s.allowMigrateMa !== undefined) {
    if (typeof s.allowMigrateMa !== 'boolean') throw new SnpOptionsFormatError('policy.snp.allowMigrateMa must be a boolean');
    out.allowMigrateMa = s.allowMigrateMa;
  }
  if (s.vmpl !== undefined) {
    if (!Number.isInteger(s.vmpl) || (s.vmpl as number) < 0 || (s.vmpl as number) > 3) throw new SnpOptionsFormatError('policy.snp.vmpl must be 0..3');
    out.vmpl = s.vmpl as number;
  }
  if (s.minAbi !== undefined) {
    const m = typeof s.minAbi === 'string' ? /^(\d{1,3})\.(\d{1,3})$/.exec(s.minAbi) : null;
    if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new SnpOptionsFormatError('policy.snp.minAbi must be "MAJOR.MINOR" (0..255 each)');
    out.minAbi = { major: Number(m[1]), minor: Number(m[2]) };
  }
  return out;
}
