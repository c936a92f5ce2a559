// `gatekeeper keys generate --out FILE [--kind operator|governance]`: a BIP340 key for signing operator
// calls or governance documents. The secret goes to FILE (64 hex characters, mode 0600, never
// overwritten); the x-only public key, which node configs list, is printed.
// `gatekeeper keys public --key FILE`: prints the public key of a key file.
import fs from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { generateIdentityKey, identityPublicKey } from '../../crypto/identity.js';
import { readGovernanceKey } from '../governance-doc.js';

const USAGE = `usage: gatekeeper keys generate --out FILE [--kind operator|governance] [--json]
       gatekeeper keys public --key FILE [--json]

  generate  writes a new secret key to FILE (64 hex characters, mode 0600; an existing FILE is never
            overwritten) and prints its public key: list it in every node's config, under
            "operatorKeys" (kind operator) or "governance.keys" (kind governance)
  public    prints the public key of an existing key file

exit status: 0 done, 1 the file could not be written, 2 bad usage`;

const command: Command = {
  summary: 'generate an operator or governance key file (0600) and print its public key',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      out: { type: 'string' }, key: { type: 'string' }, kind: { type: 'string', default: 'operator' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    });
    const sub = positionals[0];
    if (values.help || (sub !== 'generate' && sub !== 'public') || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    if (values.kind !== 'operator' && values.kind !== 'governance') throw new UsageError('--kind must be operator or governance');
    let publicKey: Uint8Array;
    let file: string;
    if (sub === 'public') {
      file = requireOption(values, 'key');
      const sk = readGovernanceKey(file);
      publicKey = identityPublicKey(sk);
      sk.fill(0);
    } else {
      file = requireOption(values, 'out');
      if (fs.existsSync(file)) throw new UsageError(`${file} exists; a key file is never overwritten (choose another --out)`);
      const k = generateIdentityKey();
      try {
        fs.writeFileSync(file, bytesToHex(k.secretKey) + '\n', { mode: 0o600, flag: 'wx' });
      } catch (err) {
        process.stderr.write(`gatekeeper keys: cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
        return 1;
      } finally {
        k.secretKey.fill(0);
      }
      publicKey = k.publicKey;
    }
    const hex = bytesToHex(publicKey);
    if (values.json) process.stdout.write(JSON.stringify({ kind: values.kind, file, publicKey: hex }) + '\n');
    else {
      process.stdout.write(`${hex}\n`);
      if (sub === 'generate') process.stderr.write(`wrote the ${values.kind} secret key to ${file} (mode 0600); its public key is above: add it to each node's config (${values.kind === 'operator' ? 'operatorKeys' : 'governance.keys'})\n`);
    }
    return 0;
  },
};
export default command;
