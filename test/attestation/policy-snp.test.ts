// The snp block of the attestation policy (issue 14, item 2) over plain SnpEvidence objects, the
// shape of the SNP verifier's accepted verdict: parse, every pin, per-component minimum TCB, guest
// SVN, VMPL, debug, MIGRATE_MA, and fail-closed admission.
import { evaluatePolicy, parsePolicy, snpVerifyOptionsFor, type AttestationPolicy, type SnpEvidence } from '../../src/attestation/index.js';

const h = (byte: number, n: number) => byte.toString(16).padStart(2, '0').repeat(n);
const MEASUREMENT = h(0x5e, 48);
const REPORT_DATA = h(0x11, 64);

const evidence = (over: Partial<SnpEvidence> = {}): SnpEvidence => ({
  ok: true, tee: 'SNP', measurement: MEASUREMENT, hostData: h(0, 32), idKeyDigest: h(0x1d, 48), authorKeyDigest: h(0xa0, 48),
  reportData: REPORT_DATA, guestSvn: 3, vmpl: 0, debug: false, migrateMa: false,
  reportedTcb: { bootloader: 4, tee: 1, snp: 22, microcode: 213 }, ...over,
});
const policy = (snp: Record<string, unknown> = {}, top: Record<string, unknown> = {}): AttestationPolicy =>
  parsePolicy({ snp: { measurement: [MEASUREMENT], ...snp }, reportData: REPORT_DATA, ...top });

describe('snp block: parse', () => {
  it('accepts every field and normalises hex to lower case', () => {
    const p = parsePolicy({ tees: ['SNP'], snp: { measurement: [MEASUREMENT.toUpperCase()], hostData: [h(0xab, 32)], idKeyDigest: [h(1, 48)],
      authorKeyDigest: [h(2, 48)], minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115, fmc: 1 }, minGuestSvn: 2, vmpl: 1, allowMigrateMa: false } });
    expect(p.snp).toEqual({ measurement: [MEASUREMENT], hostData: [h(0xab, 32)], idKeyDigest: [h(1, 48)], authorKeyDigest: [h(2, 48)],
      minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115, fmc: 1 }, minGuestSvn: 2, vmpl: 1, allowMigrateMa: false });
    expect(p.tees).toEqual(['SNP']);
  });
  it('refuses an snp block without a measurement allow-list and malformed pins', () => {
    expect(() => parsePolicy({ snp: {} })).toThrow(/snp must allow-list measurement/);
    expect(() => parsePolicy({ snp: { measurement: [] } })).toThrow(/snp.measurement must list at least one value/);
    expect(() => parsePolicy({ snp: { measurement: [h(1, 32)] } })).toThrow(/snp.measurement\[0\] must be 48 bytes of hex/);
    expect(() => parsePolicy({ snp: { measurement: [MEASUREMENT], hostData: [h(1, 48)] } })).toThrow(/snp.hostData\[0\] must be 32 bytes/);
    expect(() => parsePolicy({ snp: { measurement: [MEASUREMENT], vmpl: 4 } })).toThrow(/snp.vmpl must be an integer from 0 to 3/);
    expect(() => parsePolicy({ snp: { measurement: [MEASUREMENT], minTcb: { snp: 256 } } })).toThrow(/snp.minTcb.snp must be an integer from 0 to 255/);
    expect(() => parsePolicy({ snp: { measurement: [MEASUREMENT], minTcb: { ucode: 1 } } })).toThrow(/unknown policy field 'snp.minTcb.ucode'/);
    expect(() => parsePolicy({ snp: { measurement: [MEASUREMENT], allowMigrateMa: 'yes' } })).toThrow(/snp.allowMigrateMa must be true or false/);
    expect(() => parsePolicy({ snp: { measurement: [MEASUREMENT], measurements: [] } })).toThrow(/unknown policy field 'snp.measurements'/);
  });
});

describe('snp block: the verifier options it sets (snpVerifyOptionsFor)', () => {
  it('minAbi parses as MAJOR.MINOR; allowDebug, allowMigrateMa, vmpl and minAbi reach the verifier', () => {
    expect(parsePolicy({ snp: { measurement: [MEASUREMENT], minAbi: '01.31' } }).snp!.minAbi).toBe('1.31');
    for (const bad of ['1', '1.256', 1, '1.2.3']) {
      expect(() => parsePolicy({ snp: { measurement: [MEASUREMENT], minAbi: bad } })).toThrow(/snp.minAbi must be "MAJOR.MINOR"/);
    }
    expect(snpVerifyOptionsFor(undefined)).toEqual({ allowDebug: false, allowMigrateMa: false, vmpl: 0 });
    expect(snpVerifyOptionsFor(policy({ vmpl: 2, allowMigrateMa: true, minAbi: '1.55' }, { allowDebug: true })))
      .toEqual({ allowDebug: true, allowMigrateMa: true, vmpl: 2, minAbi: { major: 1, minor: 55 } });
    // An sgx-only policy leaves the strict defaults (and evaluatePolicy refuses the report anyway).
    expect(snpVerifyOptionsFor(parsePolicy({ sgx: { mrEnclave: [h(1, 32)] } }))).toEqual({ allowDebug: false, allowMigrateMa: false, vmpl: 0 });
  });
});

describe('snp block: evaluation', () => {
  it('admits the pinned guest', () => {
    expect(evaluatePolicy(evidence(), policy())).toEqual({ ok: true });
  });
  it('fails closed: no snp block refuses every SNP guest, even with tees naming SNP', () => {
    const sgxOnly = parsePolicy({ sgx: { mrEnclave: [h(0xaa, 32)] } });
    expect(evaluatePolicy(evidence(), sgxOnly)).toEqual({ ok: false, check: 'tee', error: expect.stringMatching(/no snp allow-list.*SNP workers are refused/) });
    expect(evaluatePolicy(evidence(), { ...sgxOnly, tees: ['SGX', 'SNP'] })).toMatchObject({ ok: false, check: 'tee' });
    expect(evaluatePolicy(evidence(), {})).toMatchObject({ ok: false, check: 'tee' });
    expect(evaluatePolicy(evidence(), policy({}, { tees: ['SGX', 'TDX'] }))).toMatchObject({ ok: false, check: 'tee', error: expect.stringMatching(/SNP workers are not allowed/) });
  });
  it('MEASUREMENT outside the allow-list is refused (compared case-insensitively)', () => {
    expect(evaluatePolicy(evidence({ measurement: h(0x5f, 48) }), policy())).toMatchObject({ ok: false, check: 'measurement' });
    expect(evaluatePolicy(evidence({ measurement: MEASUREMENT.toUpperCase() }), policy())).toEqual({ ok: true });
  });
  it('HOST_DATA must be all zero unless listed, then one of the listed values', () => {
    expect(evaluatePolicy(evidence({ hostData: h(0x42, 32) }), policy())).toMatchObject({ ok: false, check: 'host-data', error: expect.stringMatching(/all zero/) });
    const pinned = policy({ hostData: [h(0x42, 32)] });
    expect(evaluatePolicy(evidence({ hostData: h(0x42, 32) }), pinned)).toEqual({ ok: true });
    expect(evaluatePolicy(evidence(), pinned)).toMatchObject({ ok: false, check: 'host-data', error: expect.stringMatching(/not in the allow-list/) });
  });
  it('ID_KEY_DIGEST and AUTHOR_KEY_DIGEST pins', () => {
    const p = policy({ idKeyDigest: [h(0x1d, 48)], authorKeyDigest: [h(0xa0, 48)] });
    expect(evaluatePolicy(evidence(), p)).toEqual({ ok: true });
    expect(evaluatePolicy(evidence({ idKeyDigest: h(0x1e, 48) }), p)).toMatchObject({ ok: false, check: 'id-key-digest' });
    expect(evaluatePolicy(evidence({ authorKeyDigest: h(0, 48) }), p)).toMatchObject({ ok: false, check: 'author-key-digest' });
    // Unpinned digests do not constrain.
    expect(evaluatePolicy(evidence({ idKeyDigest: h(0x77, 48), authorKeyDigest: h(0x78, 48) }), policy())).toEqual({ ok: true });
  });
  it('minimum TCB is checked per component', () => {
    const p = policy({ minTcb: { bootloader: 4, tee: 1, snp: 22, microcode: 213 } });
    expect(evaluatePolicy(evidence(), p)).toEqual({ ok: true });
    const tcb = evidence().reportedTcb;
    for (const c of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
      // One component below its minimum is refused even when the others are far above theirs.
      const low = { bootloader: 99, tee: 99, snp: 99, microcode: 255, [c]: tcb[c] - 1 };
      expect(evaluatePolicy(evidence({ reportedTcb: low }), p)).toEqual({ ok: false, check: 'snp-tcb', error: expect.stringContaining(`${c} SVN ${tcb[c] - 1} is below the required ${tcb[c]}`) });
    }
    const fmc = policy({ minTcb: { fmc: 2 } });
    expect(evaluatePolicy(evidence({ reportedTcb: { ...tcb, fmc: 2 } }), fmc)).toEqual({ ok: true });
    expect(evaluatePolicy(evidence({ reportedTcb: { ...tcb, fmc: 1 } }), fmc)).toMatchObject({ ok: false, check: 'snp-tcb' });
    expect(evaluatePolicy(evidence(), fmc)).toMatchObject({ ok: false, check: 'snp-tcb', error: expect.stringMatching(/no fmc component/) });
  });
  it('guest SVN below the minimum is refused', () => {
    expect(evaluatePolicy(evidence({ guestSvn: 3 }), policy({ minGuestSvn: 3 }))).toEqual({ ok: true });
    expect(evaluatePolicy(evidence({ guestSvn: 2 }), policy({ minGuestSvn: 3 }))).toMatchObject({ ok: false, check: 'guest-svn' });
  });
  it('VMPL 0 is required unless the policy names another', () => {
    expect(evaluatePolicy(evidence({ vmpl: 1 }), policy())).toMatchObject({ ok: false, check: 'vmpl', error: expect.stringMatching(/requires VMPL 0/) });
    expect(evaluatePolicy(evidence({ vmpl: 1 }), policy({ vmpl: 1 }))).toEqual({ ok: true });
    expect(evaluatePolicy(evidence({ vmpl: 0 }), policy({ vmpl: 1 }))).toMatchObject({ ok: false, check: 'vmpl' });
  });
  it('a debug guest is refused unless allowDebug', () => {
    expect(evaluatePolicy(evidence({ debug: true }), policy())).toMatchObject({ ok: false, check: 'debug' });
    expect(evaluatePolicy(evidence({ debug: true }), policy({}, { allowDebug: false }))).toMatchObject({ ok: false, check: 'debug' });
    expect(evaluatePolicy(evidence({ debug: true }), policy({}, { allowDebug: true }))).toEqual({ ok: true });
  });
  it('a guest that allows a migration agent is refused unless allowMigrateMa', () => {
    expect(evaluatePolicy(evidence({ migrateMa: true }), policy())).toMatchObject({ ok: false, check: 'migrate-ma' });
    expect(evaluatePolicy(evidence({ migrateMa: true }), policy({ allowMigrateMa: true }))).toEqual({ ok: true });
  });
  it('REPORT_DATA must equal the expected binding', () => {
    expect(evaluatePolicy(evidence({ reportData: h(0x12, 64) }), policy())).toMatchObject({ ok: false, check: 'report-data' });
  });
  it('a rejected or malformed SNP verdict is refused, never thrown on', () => {
    expect(evaluatePolicy({ ok: false, tee: 'SNP', step: 'vcek-chain', error: 'ASK not signed by ARK' }, policy()))
      .toEqual({ ok: false, check: 'verification', error: 'report verification failed at vcek-chain: ASK not signed by ARK' });
    const broken = [
      { ...evidence(), measurement: 42 }, { ...evidence(), hostData: h(0, 48) }, { ...evidence(), reportedTcb: undefined },
      { ...evidence(), reportedTcb: { bootloader: 1, tee: 1, snp: -1, microcode: 1 } }, { ...evidence(), vmpl: '0' }, { ...evidence(), debug: 0 },
    ] as unknown as SnpEvidence[];
    for (const e of broken) expect(evaluatePolicy(e, policy())).toMatchObject({ ok: false, check: 'verification', error: 'the SNP evidence is malformed' });
  });
});
