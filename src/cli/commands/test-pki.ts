// `gatekeeper test-pki create --out FILE [--root-out DER]`: DEVELOPMENT ONLY. A test PKI shaped like
// Intel's SGX PKI, for the development worker (its "testPki" config field) and the nodes that accept it
// (attestation.trustedRootFile = the root, with allowDevelopmentAttestationRoot). It holds a private
// key and is written 0600. Production nodes pin Intel's root and refuse it.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { createTestPki } from '../../attestation/test-pki/index.js';
import { saveTestPki } from '../../worker/test-pki-file.js';

const USAGE = `usage: gatekeeper test-pki create --out FILE [--root-out DER_FILE] [--json]

DEVELOPMENT ONLY. Writes a test PKI (root, PCK chain, PCK leaf key, SGX/TDX collateral valid 30 days)
for the development worker's "testPki" field (mode 0600), and its root certificate (DER) for the
nodes' "attestation.trustedRootFile" (they also need "allowDevelopmentAttestationRoot": true).
Never trust it where real secrets are kept. Existing files are not overwritten.

exit status: 0 written, 1 a file could not be written, 2 bad usage`;

const command: Command = {
  summary: 'DEVELOPMENT: create a test attestation PKI for the development worker',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      out: { type: 'string' }, 'root-out': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    });
    if (values.help || positionals[0] !== 'create' || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const out = requireOption(values, 'out');
    const rootOut = values['root-out'];
    for (const f of [out, rootOut]) if (f !== undefined && fs.existsSync(f)) throw new UsageError(`${f} exists; choose another file`);
    const pki = await createTestPki();
    try {
      await saveTestPki(pki, out);
      if (rootOut) fs.writeFileSync(rootOut, pki.rootDer, { flag: 'wx' });
    } catch (err) {
      process.stderr.write(`gatekeeper test-pki: cannot write: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
      return 1;
    }
    const sha256 = createHash('sha256').update(pki.rootDer).digest('hex');
    if (values.json) process.stdout.write(JSON.stringify({ file: out, rootFile: rootOut, rootSha256: sha256 }) + '\n');
    else process.stdout.write(`DEVELOPMENT test PKI written to ${out}${rootOut ? `, its root (sha256 ${sha256}) to ${rootOut}` : ''}\n`);
    return 0;
  },
};
export default command;
