// Node configuration: a JSON file (documented field by field in config/README.md), with environment
// overrides so that deployments can keep secrets and addresses out of the file.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { INTEL_SGX_ROOT_CA_DER, isIntelSgxRootCa } from '../attestation/intel-root.js';
import { AMD_ARK_SHA256, amdArkProduct, SNP_PRODUCTS, type SnpProduct } from '../attestation/snp/amd-roots.js';

export interface NodeConfig {
  /** Human name used in logs. */
  name: string;
  /** host:port the gRPC server binds. */
  listen: string;
  /** host:port other nodes and clients use to reach this node (defaults to `listen`). */
  advertise: string;
  /** Folder of the node's SQLite database. */
  dataDir: string;
  /** host:port of the Prometheus metrics HTTP server; "" disables it. */
  metricsListen: string;
  /**
   * Optional TLS. With `clientCaFile` the server also requires client certificates (mTLS). Peer calls
   * go over TLS to members whose certificates `peerCaFile` signed, presenting this node's certificate.
   */
  tls: { certFile: string; keyFile: string; clientCaFile: string; peerCaFile: string } | null;
  /** x-only hex keys allowed to sign operator calls. */
  operatorKeys: string[];
  /** SHA-256 fingerprints (hex) of mTLS client certificates accepted as operators. */
  operatorCertFingerprints: string[];
  /** Governance keys (x-only hex) and how many must sign a snapshot or policy. */
  governance: { keys: string[]; threshold: number };
  /** Unseal share count and threshold used by `gatekeeper init`. */
  unseal: { shares: number; threshold: number };
  /** Default deadline of one ceremony phase, in milliseconds. */
  phaseTimeoutMs: number;
  /** Largest accepted request, in bytes. */
  maxMessageBytes: number;
  /** How far an operator or peer timestamp may be from this node's clock, in milliseconds. */
  clockSkewMs: number;
  /** Public calls allowed per second per client address (token bucket). */
  publicRateLimitPerSecond: number;
  /** Unseal calls allowed per minute per client address, after a burst of 10. */
  unsealRateLimitPerMinute: number;
  /** Allows plaintext gRPC (tls null) on an address other than loopback. */
  insecure: boolean;
  /** Serves gRPC server reflection (grpcurl and similar tools list the services). */
  reflection: boolean;
  /** How long a worker challenge nonce stays valid, in milliseconds. */
  challengeTtlMs: number;
  /** Log level: fatal, error, warn, info, debug, trace. */
  logLevel: string;
  /**
   * Attestation trust: a DER root to pin instead of Intel's SGX Root CA. A root that is not Intel's
   * (a development test PKI) is refused unless allowDevelopmentAttestationRoot is true. `snpArkFiles`:
   * AMD SEV-SNP ARKs (DER or PEM, one per product) to trust instead of AMD's pinned ones; an ARK that
   * is not AMD's is refused unless allowDevelopmentAttestationRoot is true.
   */
  attestation: { trustedRootFile: string; allowDevelopmentAttestationRoot: boolean; snpArkFiles: string[] };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DEFAULTS = {
  metricsListen: '',
  tls: null,
  operatorKeys: [] as string[],
  operatorCertFingerprints: [] as string[],
  governance: { keys: [] as string[], threshold: 1 },
  unseal: { shares: 5, threshold: 3 },
  phaseTimeoutMs: 60_000,
  maxMessageBytes: 4 * 1024 * 1024,
  clockSkewMs: 60_000,
  publicRateLimitPerSecond: 1000,
  unsealRateLimitPerMinute: 30,
  insecure: false,
  reflection: false,
  challengeTtlMs: 300_000,
  logLevel: 'info',
  attestation: { trustedRootFile: '', allowDevelopmentAttestationRoot: false, snpArkFiles: [] as string[] },
};

const HEX32 = /^[0-9a-f]{64}$/;
const HOSTPORT = /^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/** Environment variables that override the file (a secret never needs to sit in the file). */
export const ENV_OVERRIDES: Record<string, keyof NodeConfig> = {
  GATEKEEPER_LISTEN: 'listen',
  GATEKEEPER_ADVERTISE: 'advertise',
  GATEKEEPER_DATA_DIR: 'dataDir',
  GATEKEEPER_METRICS_LISTEN: 'metricsListen',
  GATEKEEPER_LOG_LEVEL: 'logLevel',
};

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const base = path.dirname(path.resolve(file));
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const r = { ...(raw as Record<string, unknown>) };
    for (const [name, field] of Object.entries(ENV_OVERRIDES)) {
      const v = env[name];
      if (v !== undefined && v !== '') r[field] = field === 'dataDir' ? path.resolve(v) : v;
    }
    raw = r;
  }
  return parseConfig(raw, base);
}

/** Fills defaults, resolves relative paths against the config file's folder, and checks every field. */
export function parseConfig(raw: unknown, baseDir: string): NodeConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config must be a JSON object');
  const r = raw as Record<string, unknown>;
  const known = new Set(['name', 'listen', 'advertise', 'dataDir', ...Object.keys(DEFAULTS)]);
  for (const k of Object.keys(r)) if (!known.has(k)) throw new ConfigError(`unknown config field '${k}'`);
  const cfg = { ...DEFAULTS, ...r } as unknown as NodeConfig;
  if (typeof cfg.dataDir === 'string') cfg.dataDir = path.resolve(baseDir, cfg.dataDir);
  if (cfg.advertise === undefined) cfg.advertise = cfg.listen;
  // Partly given objects get the documented defaults of their other fields; unknown nested fields are refused by name.
  for (const [name, fields] of [['governance', ['keys', 'threshold']], ['unseal', ['shares', 'threshold']]] as const) {
    const v = (cfg as unknown as Record<string, unknown>)[name];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`config field '${name}' must be an object with ${fields.join(' and ')}`);
    for (const k of Object.keys(v)) if (!(fields as readonly string[]).includes(k)) throw new ConfigError(`unknown config field '${name}.${k.slice(0, 64)}'`);
    (cfg as unknown as Record<string, unknown>)[name] = { ...DEFAULTS[name], ...v };
  }
  if (typeof cfg.attestation === 'object' && cfg.attestation !== null && !Array.isArray(cfg.attestation)) {
    const a = { ...DEFAULTS.attestation, ...(cfg.attestation as object) } as NodeConfig['attestation'];
    if (typeof a.trustedRootFile === 'string' && a.trustedRootFile !== '') a.trustedRootFile = path.resolve(baseDir, a.trustedRootFile);
    if (Array.isArray(a.snpArkFiles) && a.snpArkFiles.every((f) => typeof f === 'string' && f !== '')) {
      a.snpArkFiles = a.snpArkFiles.map((f) => path.resolve(baseDir, f));
    }
    cfg.attestation = a;
  }
  if (cfg.tls !== null) {
    const t = cfg.tls as unknown;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new ConfigError(`config field 'tls' must be null or an object`);
    const o = t as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['certFile', 'keyFile', 'clientCaFile', 'peerCaFile'].includes(k)) throw new ConfigError(`unknown config field 'tls.${k}'`);
    }
    const file = (k: string, required: boolean) => {
      const v = o[k] ?? '';
      if (typeof v !== 'string' || (required && v === '')) throw new ConfigError(`config field 'tls.${k}' must be ${required ? 'a path' : 'a path or ""'}`);
      return v === '' ? '' : path.resolve(baseDir, v);
    };
    cfg.tls = { certFile: file('certFile', true), keyFile: file('keyFile', true), clientCaFile: file('clientCaFile', false), peerCaFile: file('peerCaFile', false) };
  }
  return validate(cfg);
}

function validate(cfg: NodeConfig): NodeConfig {
  const str = (v: unknown, name: string) => {
    if (typeof v !== 'string' || v === '') throw new ConfigError(`config field '${name}' must be a non-empty string`);
  };
  str(cfg.name, 'name');
  str(cfg.listen, 'listen');
  str(cfg.advertise, 'advertise');
  str(cfg.dataDir, 'dataDir');
  for (const [v, n] of [[cfg.listen, 'listen'], [cfg.advertise, 'advertise']] as const) {
    if (!HOSTPORT.test(v)) throw new ConfigError(`config field '${n}' must be host:port, got '${v.slice(0, 80)}'`);
  }
  if (typeof cfg.metricsListen !== 'string' || (cfg.metricsListen !== '' && !HOSTPORT.test(cfg.metricsListen))) throw new ConfigError(`config field 'metricsListen' must be host:port or ""`);
  // Port 0 binds any free port (tests and tools use it; advertise defaults to listen).
  for (const [v, n] of [[cfg.listen, 'listen'], [cfg.advertise, 'advertise'], [cfg.metricsListen, 'metricsListen']] as const) {
    if (v === '') continue;
    const port = Number(v.slice(v.lastIndexOf(':') + 1));
    if (port > 65535) throw new ConfigError(`config field '${n}': port ${port} is out of range (0 to 65535)`);
  }
  const keys = (v: unknown, n: string) => {
    if (!Array.isArray(v) || !v.every((k) => typeof k === 'string' && HEX32.test(k))) {
      throw new ConfigError(`config field '${n}' must be a list of 64-character lowercase hex keys`);
    }
  };
  keys(cfg.operatorKeys, 'operatorKeys');
  keys(cfg.operatorCertFingerprints, 'operatorCertFingerprints');
  if (cfg.operatorCertFingerprints.length > 0 && !cfg.tls?.clientCaFile) {
    throw new ConfigError(`config field 'operatorCertFingerprints' needs tls.clientCaFile: without mTLS no client certificate is presented`);
  }
  keys(cfg.governance?.keys, 'governance.keys');
  const g = cfg.governance;
  if (!Number.isInteger(g.threshold) || g.threshold < 1 || (g.keys.length > 0 && g.threshold > g.keys.length)) {
    throw new ConfigError('config field governance.threshold must be between 1 and the number of governance keys');
  }
  const u = cfg.unseal;
  if (!Number.isInteger(u?.shares) || !Number.isInteger(u?.threshold) || u.threshold < 1 || u.threshold > u.shares || u.shares > 255) {
    throw new ConfigError('config field unseal must have 1 <= threshold <= shares <= 255');
  }
  for (const n of ['phaseTimeoutMs', 'maxMessageBytes', 'clockSkewMs', 'publicRateLimitPerSecond', 'unsealRateLimitPerMinute', 'challengeTtlMs'] as const) {
    if (!Number.isInteger(cfg[n]) || cfg[n] <= 0) throw new ConfigError(`config field '${n}' must be a positive integer`);
  }
  if (typeof cfg.attestation !== 'object' || cfg.attestation === null) {
    throw new ConfigError(`config field 'attestation' must be { "trustedRootFile": "<path or empty>", "allowDevelopmentAttestationRoot": false }`);
  }
  for (const k of Object.keys(cfg.attestation)) {
    if (!['trustedRootFile', 'allowDevelopmentAttestationRoot', 'snpArkFiles'].includes(k)) throw new ConfigError(`unknown config field 'attestation.${k}'`);
  }
  const arks = cfg.attestation.snpArkFiles;
  if (!Array.isArray(arks) || arks.length > SNP_PRODUCTS.length || !arks.every((f) => typeof f === 'string' && f !== '')) {
    throw new ConfigError(`config field 'attestation.snpArkFiles' must list at most ${SNP_PRODUCTS.length} paths (one ARK per product)`);
  }
  if (typeof cfg.attestation.trustedRootFile !== 'string') throw new ConfigError(`config field 'attestation.trustedRootFile' must be a path or ""`);
  if (typeof cfg.attestation.allowDevelopmentAttestationRoot !== 'boolean') {
    throw new ConfigError(`config field 'attestation.allowDevelopmentAttestationRoot' must be true or false`);
  }
  for (const n of ['insecure', 'reflection'] as const) {
    if (typeof cfg[n] !== 'boolean') throw new ConfigError(`config field '${n}' must be true or false`);
  }
  // Files named by the config must be there now, not at the first handshake or the first quote.
  const files: [string, string][] = [['attestation.trustedRootFile', cfg.attestation.trustedRootFile]];
  if (cfg.tls) for (const k of ['certFile', 'keyFile', 'clientCaFile', 'peerCaFile'] as const) files.push([`tls.${k}`, cfg.tls[k]]);
  for (const [n, file] of files) {
    if (file === '') continue;
    try {
      if (!fs.statSync(file).isFile()) throw new ConfigError(`config field '${n}': ${file} is not a file`);
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(`config field '${n}': ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'cannot read' : `cannot open (${code ?? 'error'})`} ${file}`);
    }
  }
  if (cfg.tls === null && !cfg.insecure && !isLoopback(cfg.listen)) {
    throw new ConfigError(`config field 'listen' (${cfg.listen}) is not a loopback address and 'tls' is null: `
      + `configure 'tls', or set 'insecure': true to serve plaintext gRPC (unseal shares and operator calls in the clear) on purpose`);
  }
  if (cfg.challengeTtlMs > 3_600_000) throw new ConfigError(`config field 'challengeTtlMs' must be at most 3600000 (one hour)`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(cfg.logLevel)) {
    throw new ConfigError(`config field 'logLevel' must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  return cfg;
}

/** True for host:port on 127.0.0.0/8, [::1] or localhost. */
export function isLoopback(hostPort: string): boolean {
  const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The attestation root the node pins, read and checked once at start. */
export interface AttestationRoot {
  der: Uint8Array;
  /** SHA-256 of the DER, lowercase hex. */
  sha256: string;
  /** False only for Intel's SGX Root CA. */
  development: boolean;
}

/**
 * Reads `attestation.trustedRootFile` (Intel's SGX Root CA when empty) and refuses a root that is not
 * Intel's unless `attestation.allowDevelopmentAttestationRoot` is true.
 */
export function attestationRoot(cfg: NodeConfig): AttestationRoot {
  const file = cfg.attestation.trustedRootFile;
  let der = INTEL_SGX_ROOT_CA_DER;
  if (file) {
    try {
      der = new Uint8Array(fs.readFileSync(file));
    } catch (err) {
      throw new ConfigError(`config field 'attestation.trustedRootFile': cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const sha256 = createHash('sha256').update(der).digest('hex');
  const development = !isIntelSgxRootCa(der);
  if (development && !cfg.attestation.allowDevelopmentAttestationRoot) {
    throw new ConfigError(`config field 'attestation.trustedRootFile' names a root that is not Intel's SGX Root CA (sha256 ${sha256}); `
      + `a development root is trusted only with 'attestation.allowDevelopmentAttestationRoot': true`);
  }
  return { der, sha256, development };
}

/** The SEV-SNP ARKs the node trusts, read and checked once at start. */
export interface SnpArks {
  /** Passed to verifySnpReport as trustedArks; undefined: AMD's pinned ARKs. */
  trusted: Partial<Record<SnpProduct, Uint8Array>> | undefined;
  /** SHA-256 (hex) of each trusted ARK, in product order (AMD's when none are configured). */
  sha256: string[];
  /** True when a configured ARK is not AMD's. */
  development: boolean;
}

/**
 * Reads `attestation.snpArkFiles` (AMD's pinned ARKs when empty). Each file is one ARK (CN ARK-Milan,
 * ARK-Genoa or ARK-Turin), one per product; an ARK that is not AMD's is refused unless
 * `attestation.allowDevelopmentAttestationRoot` is true (fail closed: the node does not start).
 */
export function snpArks(cfg: NodeConfig): SnpArks {
  const files = cfg.attestation.snpArkFiles;
  if (files.length === 0) {
    return { trusted: undefined, sha256: SNP_PRODUCTS.map((p) => AMD_ARK_SHA256[p]), development: false };
  }
  const trusted: Partial<Record<SnpProduct, Uint8Array>> = {};
  let development = false;
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      throw new ConfigError(`config field 'attestation.snpArkFiles': cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    let cert: X509Certificate;
    try { cert = new X509Certificate(bytes); } catch {
      throw new ConfigError(`config field 'attestation.snpArkFiles': ${file} is not an X.509 certificate (DER or PEM)`);
    }
    const der = Uint8Array.from(cert.raw);
    const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
    const product = SNP_PRODUCTS.find((p) => cn === `ARK-${p}`);
    if (product === undefined) throw new ConfigError(`config field 'attestation.snpArkFiles': ${file} is not an ARK (CN must be ARK-Milan, ARK-Genoa or ARK-Turin)`);
    if (trusted[product]) throw new ConfigError(`config field 'attestation.snpArkFiles' names two ARKs for ${product}`);
    if (amdArkProduct(der) !== product) {
      development = true;
      if (!cfg.attestation.allowDevelopmentAttestationRoot) {
        throw new ConfigError(`config field 'attestation.snpArkFiles' names an ARK-${product} that is not AMD's (sha256 ${sha256Hex(der)}); `
          + `a development ARK is trusted only with 'attestation.allowDevelopmentAttestationRoot': true`);
      }
    }
    trusted[product] = der;
  }
  return { trusted, sha256: SNP_PRODUCTS.filter((p) => trusted[p]).map((p) => sha256Hex(trusted[p]!)), development };
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function databaseFile(cfg: NodeConfig): string {
  return path.join(cfg.dataDir, 'gatekeeper.sqlite');
}
