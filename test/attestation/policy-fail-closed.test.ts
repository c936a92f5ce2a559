// The attestation policy fails closed (issue 10, items 1 and 2), checked with real verdicts of
// test-PKI quotes: a TEE without an allow-list block is refused, a TDX allow-list must pin the
// runtime (RTMR0-3) and host-chosen TD fields, and parse errors are bounded.
import { randomBytes } from 'node:crypto';
import { createTestPki, type TdxQuoteParams, type TestPki } from '../../src/attestation/test-pki/index.js';
import { evaluateBaseline, evaluatePolicy, parsePolicy, PolicyFormatError, verifyQuote, VerificationCache, type AttestationPolicy,
  type Collateral, type Verdict } from '../../src/attestation/index.js';

const NOW = new Date('2026-01-15T00:00:00Z');
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const SGX = { mrEnclave: fill(32, 0xaa), mrSigner: fill(32, 0xbb), isvProdId: 3, isvSvn: 2, reportData: fill(64, 0x11) };
const MRTD = fill(48, 0xcc);
const RTMRS = [fill(48, 1), fill(48, 2), fill(48, 3), fill(48, 4)];

let pki: TestPki;
let sgxCol: Collateral;
let tdxCol: Collateral;
const cache = new VerificationCache();
const verify = (quote: Uint8Array, collateral: Collateral): Verdict => verifyQuote(quote, collateral, { now: NOW, trustedRoot: pki.rootDer, cache });
const td = (p: Partial<TdxQuoteParams> = {}) => {
  const v = verify(pki.buildTdxQuoteV4({ mrTd: MRTD, rtmrs: RTMRS, reportData: SGX.reportData, ...p }), tdxCol);
  if (!v.ok) throw new Error(`test quote refused at ${v.step}: ${v.error}`);
  return v;
};

beforeAll(async () => {
  pki = await createTestPki({ now: NOW });
  sgxCol = await pki.collateral({ tee: 'SGX' });
  tdxCol = await pki.collateral({ tee: 'TDX' });
});

const sgxOnly = () => parsePolicy({ sgx: { mrEnclave: [hex(SGX.mrEnclave)], mrSigner: [hex(SGX.mrSigner)], isvProdId: 3 } });
const tdxPinned = (extra: Record<string, unknown> = {}) => parsePolicy({ tdx: { mrTd: [hex(MRTD)], rtmrs: RTMRS.map((r) => [hex(r)]), ...extra } });

describe('issue 10 item 1: a TEE the policy has no allow-list for is refused', () => {
  it('the probe: SGX mrEnclave/mrSigner only, no tees, and a verified TDX quote with an arbitrary MRTD', () => {
    const policy = sgxOnly();
    expect(policy.tees).toBeUndefined();
    const v = td({ mrTd: randomBytes(48) });
    expect(v).toMatchObject({ ok: true, tee: 'TDX', status: 'UpToDate' });
    expect(evaluatePolicy(v, policy)).toEqual({ ok: false, check: 'tee', error: expect.stringMatching(/no tdx allow-list.*TDX workers are refused/) });
    // Listing TDX in tees does not stand in for an allow-list.
    expect(evaluatePolicy(v, { ...policy, tees: ['SGX', 'TDX'] })).toMatchObject({ ok: false, check: 'tee' });
    // The SGX worker the policy names still passes.
    expect(evaluatePolicy(verify(pki.buildSgxQuoteV3(SGX), sgxCol), policy)).toEqual({ ok: true });
  });
  it('an SGX quote against a TDX-only policy, and any quote against a policy without blocks, are refused', () => {
    const sgx = verify(pki.buildSgxQuoteV3(SGX), sgxCol);
    expect(evaluatePolicy(sgx, tdxPinned())).toMatchObject({ ok: false, check: 'tee', error: expect.stringMatching(/no sgx allow-list/) });
    expect(evaluatePolicy(sgx, { allowedStatuses: ['UpToDate'] })).toMatchObject({ ok: false, check: 'tee' });
    expect(evaluatePolicy(td(), {})).toMatchObject({ ok: false, check: 'tee' });
  });
  it('mrSigner without isvProdId is refused at parse, and at evaluation of a hand-built policy', () => {
    expect(() => parsePolicy({ sgx: { mrSigner: [hex(SGX.mrSigner)] } })).toThrow(/sgx.mrSigner requires sgx.isvProdId/);
    const handBuilt: AttestationPolicy = { sgx: { mrSigner: [hex(SGX.mrSigner)] } };
    expect(evaluatePolicy(verify(pki.buildSgxQuoteV3(SGX), sgxCol), handBuilt)).toMatchObject({ ok: false, check: 'isv-prod-id' });
  });
  it('an sgx block without an allow-list, or with an empty one, is refused at parse', () => {
    expect(() => parsePolicy({ sgx: {} })).toThrow(/sgx must allow-list mrEnclave or mrSigner/);
    expect(() => parsePolicy({ sgx: { isvProdId: 1, minIsvSvn: 1 } })).toThrow(/sgx must allow-list/);
    expect(() => parsePolicy({ sgx: { mrEnclave: [] } })).toThrow(/sgx.mrEnclave must list at least one value/);
    expect(() => parsePolicy({ tees: ['SGX', 'SEV'] })).toThrow(/tees must list/);
  });
});

describe('issue 10 item 2: a TDX allow-list pins the runtime, not MRTD alone', () => {
  it('the probe: the allowed MRTD with random RTMRs, MRCONFIGID or MROWNER is refused', () => {
    const policy = tdxPinned();
    expect(evaluatePolicy(td(), policy)).toEqual({ ok: true });
    const rand = () => randomBytes(48);
    expect(evaluatePolicy(td({ rtmrs: [rand(), rand(), rand(), rand()], mrConfigId: rand(), mrOwner: rand() }), policy))
      .toMatchObject({ ok: false, check: 'rtmr', error: expect.stringMatching(/RTMR0 [0-9a-f]{96} is not in the allow-list/) });
    for (const i of [0, 1, 2, 3]) {
      const rtmrs = RTMRS.map((r, j) => (j === i ? rand() : r));
      expect(evaluatePolicy(td({ rtmrs }), policy)).toMatchObject({ ok: false, check: 'rtmr', error: expect.stringContaining(`RTMR${i} `) });
    }
    expect(evaluatePolicy(td({ mrConfigId: rand() }), policy)).toMatchObject({ ok: false, check: 'mr-config-id', error: expect.stringMatching(/all zero/) });
    expect(evaluatePolicy(td({ mrOwner: rand() }), policy)).toMatchObject({ ok: false, check: 'mr-owner' });
    expect(evaluatePolicy(td({ mrOwnerConfig: rand() }), policy)).toMatchObject({ ok: false, check: 'mr-owner-config' });
  });
  it('listed MRCONFIGID/MROWNER values are admitted and others refused; MRSEAM/MRSIGNERSEAM pins apply', () => {
    const cfg = fill(48, 0x0c);
    const owner = fill(48, 0x0d);
    const policy = tdxPinned({ mrConfigId: [hex(cfg)], mrOwner: [hex(owner)], mrSignerSeam: ['00'.repeat(48)] });
    expect(evaluatePolicy(td({ mrConfigId: cfg, mrOwner: owner }), policy)).toEqual({ ok: true });
    expect(evaluatePolicy(td({ mrOwner: owner }), policy)).toMatchObject({ ok: false, check: 'mr-config-id', error: expect.stringMatching(/not in the allow-list/) });
    expect(evaluatePolicy(td({ mrConfigId: cfg }), policy)).toMatchObject({ ok: false, check: 'mr-owner' });
    expect(evaluatePolicy(td({ mrConfigId: cfg, mrOwner: owner }), tdxPinned({ mrSeam: ['ab'.repeat(48)] })))
      .toMatchObject({ ok: false, check: 'mr-config-id' });
    expect(evaluatePolicy(td(), tdxPinned({ mrSeam: ['ab'.repeat(48)] }))).toMatchObject({ ok: false, check: 'mr-seam' });
  });
  it('a tdx block without the four RTMR allow-lists is refused at parse', () => {
    expect(() => parsePolicy({ tdx: { mrTd: [hex(MRTD)] } })).toThrow(/tdx.rtmrs must pin all four RTMRs/);
    expect(() => parsePolicy({ tdx: { mrTd: [hex(MRTD)], rtmrs: [[hex(RTMRS[0]!)]] } })).toThrow(/tdx.rtmrs must pin all four/);
    expect(() => parsePolicy({ tdx: { mrTd: [hex(MRTD)], rtmrs: [null, null, null, null] } })).toThrow(/tdx.rtmrs\[0\] must be an array/);
    expect(() => parsePolicy({ tdx: { mrTd: [hex(MRTD)], rtmrs: [[], [], [], []] } })).toThrow(/tdx.rtmrs\[0\] must list at least one value/);
    expect(() => parsePolicy({ tdx: { rtmrs: RTMRS.map((r) => [hex(r)]) } })).toThrow(/tdx must allow-list mrTd/);
  });
  it('a hand-built tdx policy with MRTD only is refused at evaluation', () => {
    const handBuilt = { tdx: { mrTd: [hex(MRTD)] } } as unknown as AttestationPolicy;
    expect(evaluatePolicy(td(), handBuilt)).toMatchObject({ ok: false, check: 'rtmr', error: expect.stringMatching(/does not pin RTMR0/) });
  });
});

describe('refusals and errors are bounded', () => {
  it('unknown field names in parse errors are cut to 64 characters', () => {
    const long = 'x'.repeat(10_000);
    for (const input of [{ [long]: 1 }, { sgx: { mrEnclave: ['aa'.repeat(32)], [long]: 1 } }, { snp: { measurement: ['aa'.repeat(48)], minTcb: { [long]: 1 } } }]) {
      let message = '';
      try { parsePolicy(input); } catch (err) { expect(err).toBeInstanceOf(PolicyFormatError); message = (err as Error).message; }
      expect(message).toMatch(/unknown policy field '.*x{64}\.\.\.'/);
      expect(message.length).toBeLessThan(160);
    }
  });
  it('a rejected verdict of any TEE is refused, and its error text is bounded', () => {
    expect(evaluatePolicy({ ok: false, tee: 'SNP', step: 'vcek-signature', error: 'e'.repeat(100_000) }, tdxPinned()))
      .toEqual({ ok: false, check: 'verification', error: expect.stringMatching(/^report verification failed at vcek-signature: e+\.\.\.$/) });
    const r = evaluatePolicy({ ok: false, tee: 'SNP', step: 's'.repeat(1000), error: 'x' }, {});
    expect(!r.ok && r.error.length).toBeLessThan(500);
  });
  it('evaluateBaseline (the CLI without --policy) admits any measurement but still refuses a debug TD', () => {
    expect(evaluateBaseline(td({ mrTd: randomBytes(48) }))).toEqual({ ok: true });
    expect(evaluateBaseline(td({ tdAttributes: Uint8Array.from([1, 0, 0, 0x10, 0, 0, 0, 0]) }))).toMatchObject({ ok: false, check: 'debug' });
  });
});
