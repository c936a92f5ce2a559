// `gatekeeper contract rotate|retire|resolve-alarm`: governance actions on a contract's key versions
// (docs/provisioning.md §7). The governance keys sign the action, contract and version
// (contractGovernanceMessage, tag "contract-governance"); the operator key signs each call; the
// request goes to every endpoint given, and each member checks the governance signatures itself.
import fs from 'node:fs';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { clientFor, TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { loadOperatorKey } from '../operator-key.js';
import { identityPublicKey, signTagged } from '../../crypto/identity.js';
import { contractGovernanceMessage, type ContractAction } from '../../keys/wire.js';
import { parseContractId } from '../../sdk/contract-id.js';
import { RpcError } from '../../rpc/errors.js';

const METHODS: Record<ContractAction, string> = {
  rotate: 'RotateContractKey', retire: 'RetireContractKeyVersion', 'resolve-alarm': 'ResolveContractAlarm',
};

const USAGE = `usage: gatekeeper contract (rotate | retire | resolve-alarm) --contract CID --version V
                         --endpoint HOST:PORT [--endpoint ...] --governance-key FILE [--governance-key ...]
                         [--operator-key FILE] ${TLS_USAGE}

  rotate         move the contract's current key version to V (V = current + 1)
  retire         stop serving, provisioning and publishing version V
  resolve-alarm  unfreeze a contract frozen by a conflicting-publication alarm on version V
  --contract        contract id: UTF-8 text, or hex:<bytes>
  --endpoint        every committee member (each checks the governance signatures itself)
  --governance-key  a file with a governance secret key (64 hex); give as many as the threshold needs

Idempotent: repeating an action that a member already applied changes nothing.
exit status: 0 every member applied it, 1 some member refused or failed, 2 bad usage`;

/** The governance signatures of one action, as the OperatorService request carries them. */
export function signContractAction(action: ContractAction, contractId: Uint8Array, version: number, governanceSecrets: Uint8Array[]) {
  const message = contractGovernanceMessage(action, contractId, version);
  return governanceSecrets.map((sk) => ({ key: identityPublicKey(sk), signature: signTagged(sk, 'contract-governance', message) }));
}

function readKey(file: string): Uint8Array {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { throw new UsageError(`cannot read governance key file ${file}`); }
  const hex = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new UsageError(`governance key file ${file} must hold 64 hex characters`);
  return hexToBytes(hex);
}

const command: Command = {
  summary: 'rotate, retire or unfreeze a contract key version (governance-signed, sent to every member)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      contract: { type: 'string' }, version: { type: 'string' }, endpoint: { type: 'string', multiple: true },
      'governance-key': { type: 'string', multiple: true }, 'operator-key': { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    const action = positionals[0] as ContractAction | undefined;
    if (values.help || !action || !(action in METHODS) || positionals.length > 1) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    let contractId: Uint8Array;
    try { contractId = parseContractId(requireOption(values, 'contract')); } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--contract: ${(err as Error).message}`);
    }
    const v = requireOption(values, 'version');
    if (!/^[1-9][0-9]{0,9}$/.test(v) || Number(v) > 0xffffffff) throw new UsageError('--version must be an integer >= 1');
    const version = Number(v);
    const endpoints = values.endpoint ?? [];
    if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required (give every member)');
    const keys = (values['governance-key'] ?? []).map(readKey);
    if (keys.length === 0) throw new UsageError('--governance-key FILE is required');
    const operator = loadOperatorKey(values['operator-key']);
    const signatures = signContractAction(action, contractId, version, keys);
    keys.forEach((k) => k.fill(0));
    let failed = 0;
    for (const endpoint of endpoints) {
      const client = clientFor(endpoint, values);
      try {
        const res = await client.call<{ currentVersion: number; alarm: string }>('OperatorService', METHODS[action],
          { contractId, version, signatures }, { sign: { role: 'operator', secretKey: operator } });
        process.stdout.write(`${endpoint}: ${action} v${version} applied; current version ${res.currentVersion}${res.alarm ? `; FROZEN: ${res.alarm}` : ''}\n`);
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        failed++;
        process.stderr.write(`gatekeeper contract ${action}: ${endpoint}: ${err.message}\n`);
      } finally {
        client.close();
      }
    }
    return failed ? 1 : 0;
  },
};
export default command;
