// Interoperability (issue 5): a 4-node devnet (k = 3) answered through gRPC stacks other than the
// TypeScript client — Debian's Python grpcio with stubs generated from proto/, and a bare server-reflection
// client that knows only the reflection protos — plus the health status of a sealed node.
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Devnet, DEMO_CONTRACT, type CommitteeView } from '../../src/devnet/devnet.js';
import { getContractKey } from '../../src/sdk/client.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from '../helpers/node.js';
import { fileContainingSymbol, listServices, resolveType, type ReflectionVersion } from './reflection-client.js';
import { runPython } from './python.js';

jest.setTimeout(60_000);

// Debian's own interpreter: the python3 first on a developer's PATH (pyenv, venv) lacks the apt packages.
const PYTHON = '/usr/bin/python3';
const CLIENT = path.join(REPO_ROOT, 'test', 'interop', 'committee_client.py');
const INSTALL_HINT = "install Debian's python3-grpcio and python3-grpc-tools (`apt-get install python3-grpcio python3-grpc-tools`, as .ci/apt-packages does)";

interface RunResult { code: number; stdout: string; stderr: string }

function run(file: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: err && typeof err.code !== 'number' ? `${err.message}\n${stderr}` : stderr });
    });
  });
}

let pythonReady: Promise<void> | undefined;

/** Fails (never skips) with the install hint when Debian's Python or its gRPC packages are missing. */
function requirePythonGrpc(): Promise<void> {
  pythonReady ??= run(PYTHON, ['-c', 'import grpc, grpc_tools.protoc']).then((r) => {
    if (r.code !== 0) throw new Error(`${PYTHON} cannot import grpc and grpc_tools: ${INSTALL_HINT}\n${r.stderr.trim()}`);
  });
  return pythonReady;
}

interface PyMember {
  node_id: string; endpoint: string; identity_key: string; transport_key: string; stake: string;
  share_identifier: string; derivation_verifying_share: string; signing_verifying_share: string;
}
interface PyResult {
  health: string;
  committee?: {
    epoch: number; threshold: number; committee_key: string; master_public_key: string;
    members: PyMember[]; certificates: { epoch: number; roster_bytes: string; signature: string }[];
  };
  committee_error?: { code: string; details: string };
  contract_key?: { contract_id: string; version: number; generation: number; public_key: string; certificate: string; current_version: number };
  contract_key_error?: { code: string; details: string };
}

async function pythonClient(endpoint: string, contractIdHex?: string): Promise<PyResult> {
  await requirePythonGrpc();
  const r = await run(PYTHON, [CLIENT, '--endpoint', endpoint, ...(contractIdHex ? ['--contract-id', contractIdHex] : [])]);
  if (r.code === 3) throw new Error(`the Python client lacks its packages: ${INSTALL_HINT}\n${r.stderr}`);
  if (r.code !== 0) throw new Error(`the Python client exited with ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as PyResult;
}

/** The TypeScript client's view in the Python client's shape: proto field names, bytes as hex. */
function asProtoJson(v: CommitteeView): NonNullable<PyResult['committee']> {
  type FullMember = CommitteeView['members'][number] & { identityKey: Uint8Array; transportKey: Uint8Array; stake: string };
  return {
    epoch: v.epoch, threshold: v.threshold,
    committee_key: bytesToHex(v.committeeKey), master_public_key: bytesToHex(v.masterPublicKey),
    members: (v.members as FullMember[]).map((m) => ({
      node_id: bytesToHex(m.nodeId), endpoint: m.endpoint, identity_key: bytesToHex(m.identityKey),
      transport_key: bytesToHex(m.transportKey), stake: m.stake, share_identifier: bytesToHex(m.shareIdentifier),
      derivation_verifying_share: bytesToHex(m.derivationVerifyingShare), signing_verifying_share: bytesToHex(m.signingVerifyingShare),
    })),
    certificates: v.certificates.map((c) => ({ epoch: c.epoch, roster_bytes: bytesToHex(c.rosterBytes), signature: bytesToHex(c.signature) })),
  };
}

describe('a 4-node devnet (k = 3) through other gRPC stacks', () => {
  let devnet: Devnet;
  let sealed: Devnet;

  beforeAll(async () => {
    devnet = new Devnet({ dir: tempDir('interop4'), nodes: 4, threshold: 3 });
    // A second, one-node devnet started but never unsealed: its health must say NOT_SERVING.
    sealed = new Devnet({ dir: tempDir('interop-sealed'), nodes: 1, threshold: 1 });
    await Promise.all([devnet.genesis(), sealed.create().then(() => sealed.startNode(0))]);
    // A published contract key, so GetContractKey can be compared across stacks too.
    const view = await devnet.committee(0);
    await devnet.registerDemoContract();
    await devnet.startWorker(view.committeeKey);
  });
  afterAll(async () => {
    await Promise.all([devnet?.stop(), sealed?.stop()]);
  });

  test(`Debian's python3-grpcio and python3-grpc-tools are installed for ${PYTHON}`, async () => {
    await requirePythonGrpc();
  });

  test('Python grpcio sees SERVING health and exactly the committee the TypeScript client sees', async () => {
    const i = 2;
    const [py, ts] = await Promise.all([pythonClient(devnet.nodes[i]!.endpoint), devnet.committee(i)]);
    expect(py.health).toBe('SERVING');
    expect(py.committee_error).toBeUndefined();
    const want = asProtoJson(ts);
    expect(py.committee).toEqual(want);
    // Both clients could agree on an empty answer: pin what a 4-node, k = 3 genesis must have produced.
    const got = py.committee!;
    expect(got.epoch).toBe(1);
    expect(got.threshold).toBe(3);
    expect(got.committee_key).toHaveLength(64);
    expect(got.master_public_key).toHaveLength(66);
    expect(got.members).toHaveLength(4);
    for (const m of got.members) {
      expect([m.node_id.length, m.derivation_verifying_share.length, m.signing_verifying_share.length]).toEqual([32, 66, 66]);
    }
    expect(got.members.map((m) => m.endpoint).sort()).toEqual(devnet.nodes.map((n) => n.endpoint).sort());
    expect(got.certificates.map((c) => c.roster_bytes)).toEqual(want.certificates.map((c) => c.roster_bytes));
    expect(got.certificates.map((c) => c.signature)).toEqual(want.certificates.map((c) => c.signature));
  });

  test('Python grpcio gets the same contract key and certificate bytes as the TypeScript SDK', async () => {
    const view = await devnet.committee(1);
    const ts = await getContractKey(devnet.nodes[1]!.client, view.committeeKey, utf8(DEMO_CONTRACT), 0);
    const py = await pythonClient(devnet.nodes[1]!.endpoint, bytesToHex(utf8(DEMO_CONTRACT)));
    expect(py.contract_key_error).toBeUndefined();
    expect(py.contract_key).toEqual({
      contract_id: bytesToHex(utf8(DEMO_CONTRACT)), version: 1, generation: ts.generation,
      public_key: bytesToHex(ts.publicKey), certificate: bytesToHex(ts.certificate), current_version: 1,
    });
    const unknown = await pythonClient(devnet.nodes[1]!.endpoint, bytesToHex(utf8('nobody')));
    expect(unknown.contract_key_error?.code).toBe('NOT_FOUND');
  });

  test('Python grpcio sees NOT_SERVING on a sealed node, and GetCommittee refused with a gRPC status', async () => {
    const py = await pythonClient(sealed.nodes[0]!.endpoint);
    expect(py.health).toBe('NOT_SERVING');
    expect(py.committee).toBeUndefined();
    expect(py.committee_error?.code).toBe('FAILED_PRECONDITION');
    expect(py.committee_error?.details).toMatch(/seal/i);
    const ts = await sealed.committee(0).then(() => 'answered', (err: Error) => err.message);
    expect(ts).toContain(py.committee_error!.details);
  });

  test('without the Debian packages the Python client stops with the install hint', async () => {
    await requirePythonGrpc();
    // -S leaves out site-packages, where Debian installs grpcio: the situation of a bare Python.
    const r = await run(PYTHON, ['-S', CLIENT, '--endpoint', devnet.nodes[0]!.endpoint]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('install Debian\'s python3-grpcio and python3-grpc-tools');
    expect(r.stdout).toBe('');
  });

  test('a proto that protoc cannot compile is reported with protoc\'s own error, nothing written to the repository', async () => {
    await requirePythonGrpc();
    const root = tempDir('interop-badproto');
    fs.cpSync(path.join(REPO_ROOT, 'proto'), root, { recursive: true });
    fs.appendFileSync(path.join(root, 'gatekeeper', 'v1', 'public.proto'), '\nmessage Broken { uint32 x = ; }\n');
    const r = await run(PYTHON, [CLIENT, '--endpoint', devnet.nodes[0]!.endpoint, '--proto-root', root]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/libprotoc [\d.]+ could not compile the protos/);
    expect(r.stderr).toContain('gatekeeper/v1/public.proto');
    const generated = (dir: string) => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /_pb2(_grpc)?\.py$/.test(f));
    expect([...generated(path.join(REPO_ROOT, 'proto')), ...generated(path.join(REPO_ROOT, 'test', 'interop'))]).toEqual([]);
  });

  describe('the Python client (src/sdk/python) against the devnet', () => {
    const dir = tempDir('interop-py');
    const message = 'an invocation sealed by the Python client';
    fs.writeFileSync(path.join(dir, 'in.txt'), message);
    const seal = (committeeKey: Uint8Array, out: string, endpoints: string[]) => runPython(['seal',
      ...endpoints.flatMap((e) => ['--endpoint', e]), '--committee-key', bytesToHex(committeeKey),
      '--contract-id', bytesToHex(utf8(DEMO_CONTRACT)), '--in', path.join(dir, 'in.txt'), '--out', path.join(dir, out), '--timeout', '20']);

    test('fetches and verifies committee and contract key, seals an envelope, and the development worker opens it', async () => {
      const view = await devnet.committee(0);
      // The first endpoint refuses connections: the client fails over to the next member.
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const down = `127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const r = await seal(view.committeeKey, 'py.env', [down, devnet.nodes[3]!.endpoint]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { committee: { epoch: number; threshold: number; members: number }; contract_key: { public_key: string; certificate: string; version: number } };
      expect(out.committee).toEqual(expect.objectContaining({ epoch: 1, threshold: 3, members: 4 }));
      const ts = await getContractKey(devnet.nodes[1]!.client, view.committeeKey, utf8(DEMO_CONTRACT), 0);
      expect(out.contract_key).toMatchObject({ public_key: bytesToHex(ts.publicKey), certificate: bytesToHex(ts.certificate), version: ts.version });
      const envelope = Uint8Array.from(fs.readFileSync(path.join(dir, 'py.env')));
      const res = await devnet.worker!.client.call<{ plaintextSha256: Uint8Array; length: string }>('DemoContract', 'Invoke', { envelope });
      expect(bytesToHex(new Uint8Array(res.plaintextSha256))).toBe(bytesToHex(sha256(utf8(message))));
      expect(Number(res.length)).toBe(utf8(message).length);
      // The same envelope with one ciphertext byte changed does not open: the worker really decrypted it.
      const tampered = envelope.slice();
      tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
      await expect(devnet.worker!.client.call('DemoContract', 'Invoke', { envelope: tampered })).rejects.toThrow(/does not decrypt/);
    });

    test('with a wrong pinned committee key the Python client refuses and writes nothing', async () => {
      const view = await devnet.committee(0);
      const wrong = view.committeeKey.slice();
      wrong[31] = wrong[31]! ^ 1;
      const r = await seal(wrong, 'wrong.env', [devnet.nodes[2]!.endpoint]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/refused: the epoch 1 roster names committee key [0-9a-f]{64}, not the pinned/);
      expect(fs.existsSync(path.join(dir, 'wrong.env'))).toBe(false);
    });
  });

  describe.each<ReflectionVersion>(['v1', 'v1alpha'])('server reflection %s', (version) => {
    test('list_services names the Gatekeeper services', async () => {
      const services = await listServices(devnet.nodes[0]!.endpoint, version);
      expect(services).toEqual(expect.arrayContaining(['gatekeeper.v1.PublicService', 'gatekeeper.v1.OperatorService', 'gatekeeper.v1.PeerService']));
    });

    test('list_services names the standard health service the node also serves', async () => {
      const services = await listServices(devnet.nodes[0]!.endpoint, version);
      expect(services).toContain('grpc.health.v1.Health');
    });

    test('file_containing_symbol returns a self-contained FileDescriptorProto that defines PublicService', async () => {
      const files = await fileContainingSymbol(devnet.nodes[0]!.endpoint, version, 'gatekeeper.v1.PublicService');
      const file = files.find((f) => f.services.some((s) => s.name === 'PublicService'));
      expect(file?.package).toBe('gatekeeper.v1');
      const service = file!.services.find((s) => s.name === 'PublicService')!;
      expect(service.methods).toEqual(expect.arrayContaining([
        { name: 'GetCommittee', inputType: '.gatekeeper.v1.GetCommitteeRequest', outputType: '.gatekeeper.v1.GetCommitteeResponse' },
      ]));
      // A reflection-only client (grpcurl) must be able to build every message from what it was sent.
      const defined = new Set(files.flatMap((f) => f.definedTypes));
      const references = files.flatMap((f) => f.references);
      expect(references.filter((r) => resolveType(r, defined) === undefined)).toEqual([]);
      expect(references.map((r) => resolveType(r, defined))).toContain('.gatekeeper.v1.Member');
      const sent = new Set(files.map((f) => f.name));
      expect(files.flatMap((f) => f.dependencies).filter((d) => !sent.has(d))).toEqual([]);
    });

    test('file_containing_symbol for an unknown symbol answers NOT_FOUND instead of a file', async () => {
      await expect(fileContainingSymbol(devnet.nodes[0]!.endpoint, version, 'gatekeeper.v1.NoSuchService'))
        .rejects.toThrow(/error_response \(5: /);
    });
  });
});
