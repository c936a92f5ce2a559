// The operator's signing key for CLI calls: a file holding 64 hex characters, or GATEKEEPER_OPERATOR_KEY.
import fs from 'node:fs';
import { hexToBytes } from '@noble/hashes/utils.js';
import { UsageError } from './args.js';

export function loadOperatorKey(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  let text: string | undefined;
  if (file) {
    try { text = fs.readFileSync(file, 'utf8'); } catch { throw new UsageError(`cannot read operator key file ${file}`); }
  } else {
    text = env.GATEKEEPER_OPERATOR_KEY;
  }
  if (!text) throw new UsageError('an operator key is required: --operator-key FILE or GATEKEEPER_OPERATOR_KEY');
  const hex = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new UsageError('the operator key must be 64 hex characters (a BIP340 secret key)');
  return hexToBytes(hex);
}
