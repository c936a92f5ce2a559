// `gatekeeper encrypt`: fetches a contract key, verifies its certificate against the pinned committee
// key (CPK), and writes an invocation envelope v1 (DESIGN §8). Exit 0 written, 1 refused or failed,
// 2 bad usage.
import fs from 'node:fs';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { RpcError } from '../../rpc/errors.js';
import { encryptForContract, FailoverClient, parseContractId, parseEndpoints, SdkError } from '../../sdk/index.js';
import { cleanGrpcText, clientFor, TLS_OPTIONS } from '../client-options.js';

const USAGE = `usage: gatekeeper encrypt --contract CID [--version V | --min-version V] --in FILE --out FILE
                          (--committee-key HEX | --client-config FILE) [--endpoint HOST:PORT]... [--json]

  --contract       contract id: UTF-8 text, or hex:<bytes>
  --version        encrypt to exactly this key version (default: the contract's current certified version)
  --min-version    refuse a key older than this version (e.g. after a rotation)
  --in             plaintext file
  --out            where to write the envelope
  --committee-key  the pinned committee key (CPK), 64 hex characters
  --client-config  JSON {"endpoint": "host:port" or ["host:port", ...], "committeeKey": "<hex32>"}
  --endpoint       host:port of a committee member; repeat it to fail over to the next one
                   (overrides the client config's)
  --tls-ca         trust this CA (PEM) and use TLS; --tls-cert/--tls-key add a client certificate

exit status: 0 written, 1 refused or failed, 2 bad usage`;

export type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

function hex32(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v)) throw new UsageError(`${what} must be 64 hex characters (the 32-byte committee key)`);
  return Uint8Array.from(Buffer.from(v, 'hex'));
}

function readClientConfig(file: string): { endpoint?: string | string[]; committeeKey?: Uint8Array } {
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read client config '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!obj || typeof obj !== 'object') throw new UsageError(`client config '${file}' must be a JSON object`);
  const o = obj as Record<string, unknown>;
  const isList = Array.isArray(o.endpoint) && o.endpoint.every((e) => typeof e === 'string');
  if (o.endpoint !== undefined && typeof o.endpoint !== 'string' && !isList) throw new UsageError(`client config '${file}': "endpoint" must be host:port or a list of them`);
  return {
    ...(o.endpoint !== undefined ? { endpoint: o.endpoint as string | string[] } : {}),
    ...(o.committeeKey !== undefined ? { committeeKey: hex32(o.committeeKey, `client config '${file}': "committeeKey"`) } : {}),
  };
}

export async function runEncrypt(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    contract: { type: 'string' }, version: { type: 'string' }, 'min-version': { type: 'string' }, in: { type: 'string' }, out: { type: 'string' },
    'committee-key': { type: 'string' }, 'client-config': { type: 'string' }, endpoint: { type: 'string', multiple: true },
    json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TLS_OPTIONS,
  });
  if (values.help) { out.stdout(USAGE + '\n'); return 0; }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let contractId: Uint8Array;
  try {
    contractId = parseContractId(requireOption(values, 'contract'));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--contract: ${(err as Error).message}`);
  }
  const versionOption = (name: 'version' | 'min-version'): number => {
    const v = values[name];
    if (v === undefined) return 0;
    if (!/^[1-9][0-9]{0,9}$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`--${name} must be an integer >= 1`);
    return Number(v);
  };
  const version = versionOption('version');
  const minVersion = versionOption('min-version');
  if (version && minVersion) throw new UsageError('give either --version or --min-version, not both');
  const inFile = requireOption(values, 'in');
  const outFile = requireOption(values, 'out');
  if (values['committee-key'] !== undefined && values['client-config'] !== undefined) {
    throw new UsageError('give either --committee-key or --client-config, not both');
  }
  const fromConfig = values['client-config'] !== undefined ? readClientConfig(values['client-config']) : {};
  const committeeKey = values['committee-key'] !== undefined ? hex32(values['committee-key'], '--committee-key') : fromConfig.committeeKey;
  if (!committeeKey) throw new UsageError('the pinned committee key is required: --committee-key HEX or a --client-config with "committeeKey"');
  const given = values.endpoint ?? fromConfig.endpoint;
  if (given === undefined || given.length === 0) throw new UsageError('--endpoint HOST:PORT is required (or "endpoint" in the client config)');
  let endpoints: string[];
  try {
    endpoints = parseEndpoints(given);
  } catch (err) {
    throw new UsageError(`--endpoint: ${(err as Error).message}`);
  }
  let plaintext: Uint8Array;
  try {
    plaintext = Uint8Array.from(fs.readFileSync(inFile));
  } catch (err) {
    throw new UsageError(`cannot read --in '${inFile}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  clientFor(endpoints[0]!, values).close(); // bad TLS options are a usage error before any call
  const client = new FailoverClient(endpoints, { connect: (e) => clientFor(e, values) });
  try {
    const { envelope, key } = await encryptForContract(client, committeeKey, contractId, plaintext, { version, minVersion });
    try {
      fs.writeFileSync(outFile, envelope);
    } catch (err) {
      out.stderr(`gatekeeper encrypt: cannot write --out '${outFile}': ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
      return 1;
    }
    if (values.json) {
      out.stdout(JSON.stringify({ file: outFile, bytes: envelope.length, contractId: Buffer.from(contractId).toString('hex'), version: key.version,
        generation: key.generation, publicKey: Buffer.from(key.publicKey).toString('hex') }) + '\n');
    } else {
      out.stdout(`wrote ${envelope.length}-byte envelope v1 to ${outFile}: contract ${Buffer.from(contractId).toString('hex')} v${key.version}, `
        + `generation ${key.generation}, key ${Buffer.from(key.publicKey).toString('hex')} (certificate verified under the pinned committee key)\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof SdkError || err instanceof RpcError) {
      out.stderr(`gatekeeper encrypt: refused: ${err.name}: ${cleanGrpcText(err.message)}\n`);
      return 1;
    }
    throw err;
  } finally {
    client.close();
  }
}

const command: Command = {
  summary: 'encrypt a file to a contract key (certificate verified against the pinned committee key)',
  run: (argv) => runEncrypt(argv, { stdout: (s) => { process.stdout.write(s); }, stderr: (s) => { process.stderr.write(s); } }),
};

export default command;
