import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, ConfigError } from '../../src/node/config.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from '../helpers/node.js';

const base = {
  name: 'n1', listen: '127.0.0.1:7001', dataDir: 'data',
  governance: { keys: ['aa'.repeat(32)], threshold: 1 },
};

function write(obj: unknown): string {
  const f = path.join(tempDir('config'), 'node.json');
  fs.writeFileSync(f, JSON.stringify(obj));
  return f;
}

describe('node config', () => {
  test('the shipped example parses, and relative paths resolve against the file', () => {
    const file = path.join(REPO_ROOT, 'config', 'node.example.json');
    const cfg = loadConfig(file, {});
    expect(cfg.dataDir).toBe(path.resolve(REPO_ROOT, 'data', 'gatekeeper-1'));
    expect(cfg.unseal).toEqual({ shares: 5, threshold: 3 });
  });

  test('defaults fill in and environment overrides win', () => {
    const cfg = loadConfig(write({ ...base, insecure: true }), { GATEKEEPER_LISTEN: '0.0.0.0:9000', GATEKEEPER_LOG_LEVEL: 'warn' });
    expect(cfg.listen).toBe('0.0.0.0:9000');
    // advertise defaults to listen, after the overrides.
    expect(cfg.advertise).toBe('0.0.0.0:9000');
    expect(loadConfig(write({ ...base, insecure: true, advertise: '10.0.0.1:7001' }), { GATEKEEPER_LISTEN: '0.0.0.0:9000' }).advertise).toBe('10.0.0.1:7001');
    expect(cfg.logLevel).toBe('warn');
    expect(cfg.phaseTimeoutMs).toBe(60_000);
  });

  test.each([
    [{ ...base, lisen: 'typo' }, /unknown config field 'lisen'/],
    [{ ...base, listen: 'nowhere' }, /host:port/],
    [{ ...base, operatorKeys: ['XYZ'] }, /operatorKeys/],
    [{ ...base, governance: { keys: ['aa'.repeat(32)], threshold: 2 } }, /governance.threshold/],
    [{ ...base, unseal: { shares: 2, threshold: 3 } }, /unseal/],
    [{ ...base, phaseTimeoutMs: -1 }, /phaseTimeoutMs/],
    [{ ...base, challengeTtlMs: 86_400_000 }, /challengeTtlMs' must be at most/],
    [{ ...base, logLevel: 'loud' }, /logLevel/],
    [{ ...base, tls: { certFile: 'a.pem' } }, /tls.keyFile/],
    [{ ...base, tls: { certFile: 'a.pem', keyFile: 'k.pem', extra: 1 } }, /unknown config field 'tls.extra'/],
    [{ ...base, operatorCertFingerprints: ['ab'.repeat(32)] }, /needs tls.clientCaFile/],
    [{ ...base, listen: '0.0.0.0:7001' }, /'listen' \(0.0.0.0:7001\) is not a loopback address and 'tls' is null/],
    [{ ...base, listen: '[::]:7001' }, /not a loopback address/],
    [{ ...base, insecure: 'yes' }, /'insecure' must be true or false/],
    [{ ...base, reflection: 1 }, /'reflection' must be true or false/],
    [{ ...base, unsealRateLimitPerMinute: 0 }, /unsealRateLimitPerMinute/],
    [{ ...base, attestation: { trustedRootFile: '', allowDevelopmentRoot: true } }, /unknown config field 'attestation.allowDevelopmentRoot'/],
    [{ ...base, attestation: { trustedRootFile: 'r.der', allowDevelopmentAttestationRoot: 'true' } }, /'attestation.allowDevelopmentAttestationRoot' must be true or false/],
  ])('refuses %j', (cfg, pattern) => {
    expect(() => loadConfig(write(cfg), {})).toThrow(ConfigError);
    expect(() => loadConfig(write(cfg), {})).toThrow(pattern);
  });

  test('an unreadable file is a clear error', () => {
    expect(() => loadConfig('/nonexistent/gatekeeper.json', {})).toThrow(/cannot read config/);
  });
});
