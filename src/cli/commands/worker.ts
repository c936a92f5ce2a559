// `gatekeeper worker --config FILE`: the DEVELOPMENT worker (src/worker/). Provisions and publishes
// each configured contract key, serves DemoContract, runs until SIGINT/SIGTERM.
// Exit 0 after a clean stop, 1 if provisioning or serving failed, 2 bad usage or config.
import fs from 'node:fs';
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { parseWorkerConfig, WorkerConfigError, type WorkerConfig, type WorkerTee } from '../../worker/config.js';
import { startDevWorker } from '../../worker/dev-worker.js';
import { TestPkiFileError } from '../../worker/test-pki-file.js';
import { createLogger } from '../../node/logger.js';

const USAGE = `usage: gatekeeper worker --config FILE [--tee sgx|tdx|snp]
       gatekeeper worker revoke --help     (refuse a worker key or measurement on every member)

DEVELOPMENT ONLY: a worker whose quotes (or SEV-SNP reports) come from a test PKI (no TEE). It makes fresh keys, gets each
configured contract key from the committee, publishes its public key and serves
gatekeeper.v1.DemoContract/Invoke.

config (JSON):
  {
    "listen": "127.0.0.1:0",            host:port to serve on (port 0: any free port)
    "gatekeeper": "127.0.0.1:7001",     host:port of any committee member
    "committeeKey": "<hex32>",          the pinned committee key (CPK)
    "contracts": [{ "id": "demo", "version": 1 }],   id: UTF-8 text, or hex:<bytes>
    "testPki": "test-pki.json",         written by saveTestPki (required; for SNP it must hold the SNP dev PKI)
    "tee": "SGX" | "TDX" | "SNP",       --tee replaces it
    "measurements": { "mrEnclave": "<hex32>", "mrSigner": "<hex32>", "isvProdId": 1, "isvSvn": 0 }  (SGX)
                  | { "mrTd": "<hex48>" }                                                           (TDX)
                  | { "measurement": "<hex48>" }                              (SNP: the launch MEASUREMENT)
    "readyFile": "worker.ready.json"    optional: {"endpoint", "contracts": [{id, version, publicKey}]} once serving
    "tls": { "caFile": "ca.pem", "certFile": "c.pem", "keyFile": "c.key" }   optional: TLS to the committee
                                        (caFile signed the members' certificates; cert/key for mTLS)
    "insecure": false                   plaintext to a "gatekeeper" that is not loopback is refused unless true
  }
Relative paths are taken from the config file's folder.

exit status: 0 stopped cleanly, 1 provisioning or serving failed, 2 bad usage or config`;

export type Out = (line: string) => void;

/** Loads and checks the config file; bad config is a UsageError (exit 2). */
export function loadWorkerConfig(file: string, over: { tee?: WorkerTee } = {}): WorkerConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return parseWorkerConfig(text, file, over);
  } catch (err) {
    if (err instanceof WorkerConfigError) throw new UsageError(`config '${file}': ${err.message}`);
    throw err;
  }
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => { process.off('SIGINT', on); process.off('SIGTERM', on); resolve(sig); };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Runs the worker with `out` for log lines; `stop` resolves when it should shut down. */
export async function runWorker(argv: string[], out: Out, stop: () => Promise<string> = waitForSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string' }, tee: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) { out(USAGE); return 0; }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let tee: WorkerTee | undefined;
  if (values.tee !== undefined) {
    const v = values.tee.toUpperCase();
    if (v === 'SGX' || v === 'TDX' || v === 'SNP') tee = v;
    else throw new UsageError(`--tee must be sgx, tdx or snp, got '${values.tee.slice(0, 20)}'`);
  }
  const config = loadWorkerConfig(requireOption(values, 'config'), { tee });
  // JSON lines through the nodes' logger (pino, same redaction list), so one log pipeline reads both.
  const logger = createLogger('dev-worker', 'info', { write: (s: string) => { out(s.replace(/\n$/, '')); } });
  const log = (line: string) => logger.info(line);
  let worker;
  try {
    worker = await startDevWorker(config, log);
  } catch (err) {
    if (err instanceof TestPkiFileError) throw new UsageError(err.message);
    logger.error(`failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    return 1;
  }
  const sig = await stop();
  log(`${sig}: stopping`);
  await worker.close();
  return 0;
}

const command: Command = {
  summary: 'DEVELOPMENT worker: provision contract keys with test-PKI quotes or SEV-SNP reports and serve DemoContract; worker revoke (every member)',
  run: async (argv) => (argv[0] === 'revoke' ? (await import('./worker-revoke.js')).runRevoke(argv.slice(1))
    : runWorker(argv, (line) => { process.stdout.write(line + '\n'); })),
};

export default command;
