// Bounded, safe errors (issue 12 item 5), on a real gRPC server on loopback using the node's handler
// wrapper: a status message is at most 1 KiB and never echoes unbounded request content (a 120,000-
// character certificate name in collateral used to hang the call and the connection after it); a PCK
// leaf whose key starts 0x05 is a verification refusal, not INTERNAL; anything else a handler throws is
// INTERNAL with a fixed text and an error id, never its own text.
import { webcrypto } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createTestPki, type TestPki } from '../../src/attestation/test-pki/index.js';
import { loadCollateral } from '../../src/attestation/collateral.js';
import { verifyQuote } from '../../src/attestation/verify.js';
import {
  boundText, invalidArgument, MAX_STATUS_MESSAGE_BYTES, permissionDenied, TRUNCATION_MARKER,
} from '../../src/rpc/errors.js';
import { internalMessage, unary, type HandlerHooks } from '../../src/rpc/handler.js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
const method = (name: string): grpc.MethodDefinition<unknown, unknown> => ({
  path: `/test.Bounded/${name}`, requestStream: false, responseStream: false,
  requestSerialize: json.serialize, requestDeserialize: json.deserialize,
  responseSerialize: json.serialize, responseDeserialize: json.deserialize,
});
const SERVICE = { Verify: method('Verify'), Echo: method('Echo'), Boom: method('Boom'), BoomSync: method('BoomSync'), Ack: method('Ack') };

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] });

/** A self-signed P-256 certificate whose CN is `cn`, as PEM. */
async function selfSignedPem(cn: string): Promise<string> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ value: 7 });
  const name = new pkijs.RelativeDistinguishedNames({
    typesAndValues: [new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: cn }) })],
  });
  cert.subject = name;
  cert.issuer = name;
  cert.notBefore.value = new Date(Date.now() - 86_400_000);
  cert.notAfter.value = new Date(Date.now() + 365 * 86_400_000);
  await cert.subjectPublicKeyInfo.importKey(keys.publicKey as never, engine);
  await cert.sign(keys.privateKey as never, 'SHA-256', engine);
  const der = Buffer.from(cert.toSchema(true).toBER(false));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

let pki: TestPki;
let server: grpc.Server;
let client: grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;
const quotes = new Map<string, Uint8Array>();
const errors: { method: string; err: unknown; errorId: string }[] = [];
let failDurable = false;

beforeAll(async () => {
  pki = await createTestPki();
  const params = { mrEnclave: new Uint8Array(32).fill(1), mrSigner: new Uint8Array(32).fill(2), isvProdId: 1, isvSvn: 1, reportData: new Uint8Array(64) };
  quotes.set('good', pki.buildSgxQuoteV3(params));
  // The default PCK leaf with its public key's point-format byte changed from 0x04 to 0x05.
  const der = Buffer.from(pki.defaultLeaf.der);
  const at = der.indexOf(Buffer.from('03420004', 'hex'));
  der[at + 3] = 0x05;
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----`;
  quotes.set('key05', pki.buildSgxQuoteV3(params, { leaf: { ...pki.defaultLeaf, der: Uint8Array.from(der), pem } }));

  const hooks: HandlerHooks = {
    onError: (m, err, errorId) => { errors.push({ method: m, err, errorId }); },
    onDone: () => {},
    beforeReply: () => { if (failDurable) throw new Error('disk full: /var/lib/gatekeeper/gatekeeper.sqlite.hwm'); },
  };
  server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  server.addService(SERVICE, {
    // As the contract-key release does it (src/node/contract-keys.ts): collateral from the request,
    // INVALID_ARGUMENT for a collateral that does not load, PERMISSION_DENIED for a quote refused.
    Verify: unary('/test.Bounded/Verify', async (req: { quote: string; collateralJson: string }) => {
      let collateral;
      try { collateral = loadCollateral(req.collateralJson); } catch (err) {
        throw invalidArgument(`collateral_json: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}`);
      }
      const verdict = verifyQuote(quotes.get(req.quote)!, collateral, { now: new Date(), trustedRoot: pki.rootDer });
      if (!verdict.ok) throw permissionDenied(`the quote does not verify (${verdict.step}): ${verdict.error}`);
      return { ok: true };
    }, hooks),
    // Any handler that quotes request text in its error.
    Echo: unary('/test.Bounded/Echo', async (req: { text: string }) => { throw invalidArgument(`bad name '${req.text}'`); }, hooks),
    Boom: unary('/test.Bounded/Boom', async () => { throw new Error('secret-share-0123456789abcdef leaked?'); }, hooks),
    BoomSync: unary('/test.Bounded/BoomSync', (() => { throw new TypeError('secret-sync-abcdef'); }) as never, hooks),
    Ack: unary('/test.Bounded/Ack', async () => ({ ok: true }), hooks),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const Client = grpc.makeGenericClientConstructor(SERVICE, 'Bounded');
  client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 4 * 1024 * 1024 }) as typeof client;
});

afterAll(async () => {
  client.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

/** One call on the shared connection; resolves to the status code and message (deadline 20 s: a hang fails). */
function call(name: string, req: unknown): Promise<{ code: grpc.status; details: string; res?: unknown }> {
  return new Promise((resolve) => {
    client[name]!(req, { deadline: Date.now() + 20_000 }, (err, res) => {
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', res });
    });
  });
}

async function collateralJson(): Promise<Record<string, string>> {
  return { ...(await pki.collateral({ tee: 'SGX' })) } as unknown as Record<string, string>;
}

describe('status messages are bounded', () => {
  test('a 120,000-character certificate name in the collateral: a refusal of at most 1 KiB, and the next call on the connection works', async () => {
    const good = await collateralJson();
    expect((await call('Verify', { quote: 'good', collateralJson: JSON.stringify(good) })).code).toBe(grpc.status.OK);
    const longName = 'A'.repeat(120_000);
    const bad = { ...good, tcb_info_issuer_chain: (await selfSignedPem(longName)) + pki.root.pem + '\n' };
    const r = await call('Verify', { quote: 'good', collateralJson: JSON.stringify(bad) });
    expect(grpc.status[r.code]).toBe('PERMISSION_DENIED');
    expect(r.details).toMatch(/the quote does not verify \(tcb-info\): TCB info is signed by 'AAAA/);
    expect(Buffer.byteLength(r.details, 'utf8')).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
    expect(r.details).toContain('[truncated]');
    const next = await call('Verify', { quote: 'good', collateralJson: JSON.stringify(good) });
    expect(next.code).toBe(grpc.status.OK);
  });

  test('any handler echoing 120,000 characters of request text is cut to 1 KiB with a marker; the connection keeps working', async () => {
    const r = await call('Echo', { text: 'é'.repeat(120_000) });
    expect(grpc.status[r.code]).toBe('INVALID_ARGUMENT');
    expect(Buffer.byteLength(r.details, 'utf8')).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
    expect(r.details.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(r.details.startsWith("bad name 'éé")).toBe(true);
    expect(r.details).not.toContain('\uFFFD'); // not cut inside a character
    expect((await call('Ack', {})).code).toBe(grpc.status.OK);
  });

  test('boundText leaves short text alone and cuts long text to the byte limit', () => {
    expect(boundText('short')).toBe('short');
    const cut = boundText('€'.repeat(5000));
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
    expect(cut.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(boundText('x'.repeat(1024))).toBe('x'.repeat(1024));
  });
});

describe('malformed input is never INTERNAL', () => {
  test('a PCK leaf whose public key starts 0x05 is a verification refusal (pck-chain), not INTERNAL', async () => {
    const r = await call('Verify', { quote: 'key05', collateralJson: JSON.stringify(await collateralJson()) });
    expect(grpc.status[r.code]).toBe('PERMISSION_DENIED');
    expect(r.details).toMatch(/\(pck-chain\): PCK certificate chain in the quote certificate 1 is not a valid X\.509 certificate \(its public key cannot be decoded\)/);
  });
});

describe('unexpected errors', () => {
  test('become INTERNAL with a fixed text and an error id, never the error text; the id is logged with the error', async () => {
    for (const name of ['Boom', 'BoomSync']) {
      errors.length = 0;
      const r = await call(name, {});
      expect(grpc.status[r.code]).toBe('INTERNAL');
      expect(r.details).not.toMatch(/secret/);
      expect(errors).toHaveLength(1);
      expect(r.details).toBe(internalMessage(errors[0]!.errorId));
      expect(errors[0]!.errorId).toMatch(/^[0-9a-f]{16}$/);
      expect(String((errors[0]!.err as Error).message)).toMatch(/secret-/);
    }
  });

  test('a failure to make state durable answers UNAVAILABLE instead of the result, without the error text', async () => {
    failDurable = true;
    try {
      errors.length = 0;
      const r = await call('Ack', {});
      expect(grpc.status[r.code]).toBe('UNAVAILABLE');
      expect(r.details).toMatch(/could not make its state durable/);
      expect(r.details).not.toMatch(/disk full|hwm/);
      expect(r.details).toContain(errors[0]!.errorId);
    } finally {
      failDurable = false;
    }
    expect((await call('Ack', {})).code).toBe(grpc.status.OK);
  });
});
