// `gatekeeper worker revoke (--worker-key HEX | --measurement HEX) [--reason TEXT] --endpoint ...`:
// every member stops releasing keys to a worker signing key or to an enclave measurement (MRENCLAVE or
// MRTD). Revoking again changes nothing, so the command is safe to repeat.
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Command } from '../main.js';
import { parseCommandArgs, UsageError } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { fanOut, reportFanOut } from '../fanout.js';

export const REVOKE_USAGE = `usage: gatekeeper worker revoke (--worker-key HEX | --measurement HEX) [--reason TEXT]
                             --endpoint HOST:PORT [--endpoint ...] [--operator-key FILE] [--json] ${TLS_USAGE}

  --worker-key   a worker's 32-byte signing key (hex), as its provisioning request and logs show it
  --measurement  a 32-byte MRENCLAVE or a 48-byte MRTD (hex): every worker measuring so is refused
  --endpoint     every committee member

exit status: 0 every member recorded it, 1 some member refused or could not be reached, 2 bad usage`;

export async function runRevoke(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    'worker-key': { type: 'string' }, measurement: { type: 'string' }, reason: { type: 'string' }, endpoint: { type: 'string', multiple: true },
    'operator-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
  });
  if (values.help) { process.stdout.write(REVOKE_USAGE + '\n'); return 0; }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]!.slice(0, 40)}'`);
  const key = values['worker-key'];
  const m = values.measurement;
  if ((key === undefined) === (m === undefined)) throw new UsageError('give exactly one of --worker-key and --measurement');
  if (key !== undefined && !/^[0-9a-fA-F]{64}$/.test(key)) throw new UsageError('--worker-key must be 32 bytes of hex');
  if (m !== undefined && !/^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{96})$/.test(m)) throw new UsageError('--measurement must be a 32-byte MRENCLAVE or a 48-byte MRTD in hex');
  const reason = values.reason ?? '';
  if (reason.length > 500) throw new UsageError('--reason must be at most 500 characters');
  const endpoints = values.endpoint ?? [];
  if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required (give every member)');
  const req = {
    workerSigningKey: key ? hexToBytes(key.toLowerCase()) : new Uint8Array(), measurement: m ? hexToBytes(m.toLowerCase()) : new Uint8Array(), reason,
  };
  const results = await fanOut(endpoints, 'RevokeWorker', req, values);
  return reportFanOut('worker revoke', results, !!values.json, () => `revoked (${key ? 'worker key' : 'measurement'})`);
}
