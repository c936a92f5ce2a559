// The development worker's config file (JSON). Checked completely at load so a mistake is one
// clear message before anything starts.
import path from 'node:path';
import { parseContractId } from '../sdk/contract-id.js';
/** The TEE the development worker poses as. */
export type WorkerTee = 'SGX' | 'TDX' | 'SNP';

export class WorkerConfigError extends Error {
  override name = 'WorkerConfigError';
}

export type DcapMeasurements =
  | { tee: 'SGX'; mrEnclave: Uint8Array; mrSigner: Uint8Array; isvProdId: number; isvSvn: number }
  | { tee: 'TDX'; mrTd: Uint8Array };

/** SNP: the launch MEASUREMENT the development reports claim. */
export type Measurements = DcapMeasurements | { tee: 'SNP'; measurement: Uint8Array };

export interface WorkerConfig {
  /** host:port to serve DemoContract on (port 0: any free port). */
  listen: string;
  /** host:port of any committee member. */
  gatekeeper: string;
  /** The pinned committee key (CPK), 32 bytes. */
  committeeKey: Uint8Array;
  contracts: { id: Uint8Array; idText: string; version: number }[];
  /** Absolute path of the saved test PKI (relative paths are taken from the config file's folder). */
  testPki: string;
  tee: WorkerTee;
  measurements: Measurements;
  readyFile?: string;
  /**
   * TLS to the committee: `caFile` is the CA (PEM) that signed the members' certificates; `certFile` and
   * `keyFile` (PEM) give a client certificate for mTLS. Absent: plaintext, refused to an address other
   * than loopback unless `insecure` is true.
   */
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  insecure?: boolean;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function hostPort(v: unknown, what: string, allowZero: boolean): string {
  const m = typeof v === 'string' ? HOST_PORT.exec(v) : null;
  const port = m ? Number(m[2]) : -1;
  if (!m || port > 65535 || (!allowZero && port === 0)) throw new WorkerConfigError(`"${what}" must be host:port, got ${JSON.stringify(v)}`);
  return v as string;
}

function hex(v: unknown, what: string, len: number): Uint8Array {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-fA-F]{${2 * len}}$`).test(v)) throw new WorkerConfigError(`"${what}" must be ${len} bytes of hex`);
  return Uint8Array.from(Buffer.from(v, 'hex'));
}

function u16(v: unknown, what: string): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffff) throw new WorkerConfigError(`"${what}" must be an integer 0..65535`);
  return v as number;
}

function measurementsOf(tee: WorkerTee, m: unknown): Measurements {
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new WorkerConfigError('"measurements" must be an object');
  const o = m as Record<string, unknown>;
  if (tee === 'SGX') {
    return { tee, mrEnclave: hex(o.mrEnclave, 'measurements.mrEnclave', 32), mrSigner: hex(o.mrSigner, 'measurements.mrSigner', 32),
      isvProdId: u16(o.isvProdId, 'measurements.isvProdId'), isvSvn: u16(o.isvSvn, 'measurements.isvSvn') };
  }
  if (tee === 'SNP') return { tee, measurement: hex(o.measurement, 'measurements.measurement', 48) };
  return { tee, mrTd: hex(o.mrTd, 'measurements.mrTd', 48) };
}

const KNOWN = new Set(['listen', 'gatekeeper', 'committeeKey', 'contracts', 'testPki', 'tee', 'measurements', 'readyFile', 'tls', 'insecure']);

function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function tlsOf(v: unknown, base: string): WorkerConfig['tls'] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new WorkerConfigError('"tls" must be { "caFile": PEM, "certFile"?: PEM, "keyFile"?: PEM }');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['caFile', 'certFile', 'keyFile'].includes(k)) throw new WorkerConfigError(`unknown config field "tls.${k}"`);
  const file = (k: string, required: boolean): string | undefined => {
    if (o[k] === undefined && !required) return undefined;
    if (typeof o[k] !== 'string' || o[k] === '') throw new WorkerConfigError(`"tls.${k}" must be a path`);
    return path.resolve(base, o[k] as string);
  };
  const certFile = file('certFile', false);
  const keyFile = file('keyFile', false);
  if ((certFile === undefined) !== (keyFile === undefined)) throw new WorkerConfigError('"tls.certFile" and "tls.keyFile" go together');
  return { caFile: file('caFile', true)!, ...(certFile ? { certFile, keyFile } : {}) };
}

/** Parses and checks the config text; `configFile` anchors relative paths; `over.tee` replaces the file's "tee". */
export function parseWorkerConfig(text: string, configFile: string, over: { tee?: WorkerTee } = {}): WorkerConfig {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new WorkerConfigError(`config is not JSON: ${(err as Error).message}`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new WorkerConfigError('config must be a JSON object');
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw new WorkerConfigError(`unknown config field "${k}"`);
  const base = path.dirname(path.resolve(configFile));
  if (typeof o.testPki !== 'string' || o.testPki.length === 0) {
    throw new WorkerConfigError('"testPki" is required: this is a DEVELOPMENT worker whose quotes come from a test PKI, and it does not start without one');
  }
  const tee = over.tee ?? o.tee;
  if (tee !== 'SGX' && tee !== 'TDX' && tee !== 'SNP') throw new WorkerConfigError('"tee" must be "SGX", "TDX" or "SNP"');
  if (!Array.isArray(o.contracts) || o.contracts.length === 0) throw new WorkerConfigError('"contracts" must be a non-empty array');
  const seen = new Set<string>();
  const contracts = o.contracts.map((c: unknown, i: number) => {
    const e = (c ?? {}) as Record<string, unknown>;
    if (typeof e.id !== 'string') throw new WorkerConfigError(`contracts[${i}].id must be a string`);
    let id: Uint8Array;
    try {
      id = parseContractId(e.id);
    } catch (err) {
      throw new WorkerConfigError(`contracts[${i}].id: ${(err as Error).message}`);
    }
    if (!Number.isInteger(e.version) || (e.version as number) < 1 || (e.version as number) > 0xffffffff) {
      throw new WorkerConfigError(`contracts[${i}].version must be an integer >= 1`);
    }
    const key = `${Buffer.from(id).toString('hex')}/${e.version}`;
    if (seen.has(key)) throw new WorkerConfigError(`contracts[${i}] is listed twice`);
    seen.add(key);
    return { id, idText: e.id, version: e.version as number };
  });
  if (o.readyFile !== undefined && (typeof o.readyFile !== 'string' || o.readyFile.length === 0)) throw new WorkerConfigError('"readyFile" must be a path');
  if (o.insecure !== undefined && typeof o.insecure !== 'boolean') throw new WorkerConfigError('"insecure" must be true or false');
  const tls = o.tls === undefined || o.tls === null ? undefined : tlsOf(o.tls, base);
  const gatekeeper = hostPort(o.gatekeeper, 'gatekeeper', false);
  if (!tls && o.insecure !== true && !isLoopbackHost(gatekeeper)) {
    throw new WorkerConfigError(`"gatekeeper" (${gatekeeper}) is not a loopback address and "tls" is not set: set "tls" (the committee's CA), or "insecure": true for plaintext`);
  }
  return {
    listen: hostPort(o.listen, 'listen', true),
    gatekeeper,
    committeeKey: hex(o.committeeKey, 'committeeKey', 32),
    contracts,
    testPki: path.resolve(base, o.testPki),
    tee,
    measurements: measurementsOf(tee, o.measurements),
    ...(o.readyFile !== undefined ? { readyFile: path.resolve(base, o.readyFile as string) } : {}),
    ...(tls ? { tls } : {}),
    ...(o.insecure === true ? { insecure: true } : {}),
  };
}
