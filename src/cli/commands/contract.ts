// `gatekeeper contract register|prepare|rotate|retire|resolve-alarm`: a contract and its key versions
// (docs/provisioning.md §7), sent to every member through the fan-out (src/cli/fanout.ts).
// register is an operator action; the key-version actions are governance-signed: the governance keys
// sign the action, contract and version (contractGovernanceMessage, tag "contract-governance"), either
// here from key files or beforehand (`contract prepare` + `governance sign`, then --signed FILE).
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { TLS_OPTIONS, TLS_USAGE } from '../client-options.js';
import { fanOut, reportFanOut } from '../fanout.js';
import { readDoc, readGovernanceKey, wireSignatures, writeDoc, type GovernanceDoc } from '../governance-doc.js';
import { identityPublicKey, signTagged } from '../../crypto/identity.js';
import { contractGovernanceMessage, type ContractAction } from '../../keys/wire.js';
import { parseContractId } from '../../sdk/contract-id.js';

const METHODS: Record<ContractAction, string> = {
  rotate: 'RotateContractKey', retire: 'RetireContractKeyVersion', 'resolve-alarm': 'ResolveContractAlarm',
};

const USAGE = `usage: gatekeeper contract register --contract CID --namespace NS --policy-id ID
                         --endpoint HOST:PORT [--endpoint ...] [--operator-key FILE] [--json] ${TLS_USAGE}
       gatekeeper contract (rotate | retire | resolve-alarm) --contract CID --version V
                         (--governance-key FILE [...] | --signed FILE)
                         --endpoint HOST:PORT [--endpoint ...] [--operator-key FILE] [--json] ${TLS_USAGE}
       gatekeeper contract prepare (rotate | retire | resolve-alarm) --contract CID --version V --out FILE

  register       register contract CID under namespace NS of the installed release policy ID
  rotate         move the contract's current key version to V (V = current + 1)
  retire         stop serving, provisioning and publishing version V
  resolve-alarm  unfreeze a contract frozen by a conflicting-publication alarm on version V
  prepare        write the action as a governance document for holders to sign separately
                 (gatekeeper governance sign / combine), then pass it with --signed
  --contract        contract id: UTF-8 text, or hex:<bytes>
  --endpoint        every committee member (each checks the governance signatures itself)
  --governance-key  a file with a governance secret key (64 hex); give as many as the threshold needs

Idempotent: repeating an action that a member already applied changes nothing, so after a member
failed, run the same command again.
exit status: 0 every member applied it, 1 some member refused or failed, 2 bad usage`;

/** The governance signatures of one action, as the OperatorService request carries them. */
export function signContractAction(action: ContractAction, contractId: Uint8Array, version: number, governanceSecrets: Uint8Array[]) {
  const message = contractGovernanceMessage(action, contractId, version);
  return governanceSecrets.map((sk) => ({ key: identityPublicKey(sk), signature: signTagged(sk, 'contract-governance', message) }));
}

function contractOf(values: Record<string, unknown>): Uint8Array {
  try { return parseContractId(requireOption(values, 'contract')); } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--contract: ${(err as Error).message}`);
  }
}

function versionOf(values: Record<string, unknown>): number {
  const v = requireOption(values, 'version');
  if (!/^[1-9][0-9]{0,9}$/.test(v) || Number(v) > 0xffffffff) throw new UsageError('--version must be an integer >= 1');
  return Number(v);
}

function endpointsOf(values: Record<string, unknown>): string[] {
  const endpoints = (values.endpoint as string[] | undefined) ?? [];
  if (endpoints.length === 0) throw new UsageError('--endpoint HOST:PORT is required (give every member)');
  return endpoints;
}

const command: Command = {
  summary: 'register a contract, or rotate, retire or unfreeze a key version (sent to every member)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      contract: { type: 'string' }, version: { type: 'string' }, namespace: { type: 'string' }, 'policy-id': { type: 'string' },
      endpoint: { type: 'string', multiple: true }, signed: { type: 'string' }, out: { type: 'string' },
      'governance-key': { type: 'string', multiple: true }, 'operator-key': { type: 'string' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
    });
    const sub = positionals[0];
    const prepare = sub === 'prepare';
    const action = (prepare ? positionals[1] : sub) as ContractAction | 'register' | undefined;
    const validAction = action === 'register' ? !prepare : !!action && action in METHODS;
    if (values.help || !validAction || positionals.length > (prepare ? 2 : 1)) {
      process.stdout.write(USAGE + '\n');
      return values.help ? 0 : 2;
    }
    const contractId = contractOf(values);
    if (action === 'register') {
      const namespace = requireOption(values, 'namespace');
      const policyId = requireOption(values, 'policy-id');
      const results = await fanOut(endpointsOf(values), 'RegisterContract', { contractId, namespace, policyId }, values);
      return reportFanOut('contract register', results, !!values.json, () => `registered (namespace ${namespace}, policy ${policyId})`);
    }
    const version = versionOf(values);
    if (prepare) {
      const out = requireOption(values, 'out');
      const doc: GovernanceDoc = {
        kind: 'contract-action', payload: contractGovernanceMessage(action!, contractId, version), contractAction: { action: action!, contractId, version },
        summary: { action, contract: requireOption(values, 'contract'), version }, signatures: [],
      };
      writeDoc(out, doc);
      process.stdout.write(values.json ? JSON.stringify({ file: out, action, version }) + '\n' : `${action} v${version} written to ${out} for governance to sign\n`);
      return 0;
    }
    if ((values.signed === undefined) === (values['governance-key'] === undefined)) throw new UsageError('give --governance-key FILE (repeat) or --signed FILE');
    let signatures;
    if (values.signed !== undefined) {
      const doc = readDoc(values.signed, 'contract-action');
      const a = doc.contractAction!;
      if (a.action !== action || a.version !== version || Buffer.compare(Buffer.from(a.contractId), Buffer.from(contractId)) !== 0) {
        throw new UsageError(`${values.signed} signs ${a.action} v${a.version} of another contract or action, not ${action} v${version} of this contract`);
      }
      signatures = wireSignatures(doc);
    } else {
      const keys = values['governance-key']!.map(readGovernanceKey);
      signatures = signContractAction(action!, contractId, version, keys);
      keys.forEach((k) => k.fill(0));
    }
    const results = await fanOut<{ currentVersion: number; alarm: string }>(endpointsOf(values), METHODS[action!], { contractId, version, signatures }, values);
    return reportFanOut(`contract ${action}`, results, !!values.json,
      (r) => (values.json ? { currentVersion: r.currentVersion, alarm: r.alarm || undefined } as Record<string, unknown>
        : `${action} v${version} applied; current version ${r.currentVersion}${r.alarm ? `; FROZEN: ${r.alarm}` : ''}`));
  },
};
export default command;
