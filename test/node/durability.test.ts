// Durability on a real node (issue 12 item 4): what a call wrote is in the high-water file before the
// answer leaves; a node put back on an older database refuses to start; a read-only or failing
// database makes unseal fail as a whole (the node stays sealed, health NOT_SERVING, a clear error).
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import pino from 'pino';
import { GatekeeperNode } from '../../src/node/node.js';
import { databaseFile } from '../../src/node/config.js';
import { RpcError } from '../../src/rpc/errors.js';
import { highWaterFile, HighWaterError, readDatabaseMark, readMarkFile } from '../../src/store/high-water.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

type UnsealRes = { sealed: boolean; progress: number };

async function health(endpoint: string): Promise<string> {
  const def = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String })) as unknown as
    { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  const client = new def.grpc.health.v1.Health(endpoint, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) => {
      client.Check!({ service: '' }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status)));
    });
  } finally {
    client.close();
  }
}

async function callError(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

describe('a read-only or failing database', () => {
  let t: TestNode;
  beforeAll(async () => { t = await startTestNode(); });
  afterAll(async () => { await t.stop(); });

  test('makes unseal fail as a whole: UNAVAILABLE naming the database, still sealed, health NOT_SERVING; unseal works once fixed', async () => {
    // SQLite's own read-only switch: every write fails with "attempt to write a readonly database", as on
    // a read-only file or mount (the tests run as root, for whom chmod 0400 does not stop writes).
    t.node.db.pragma('query_only = ON');
    const first = await t.client.call<UnsealRes>('OperatorService', 'Unseal', { share: t.shares[0] });
    expect(first).toMatchObject({ sealed: true, progress: 1 });
    const err = await callError(t.client.call('OperatorService', 'Unseal', { share: t.shares[1] }));
    expect(grpc.status[err.code]).toBe('UNAVAILABLE');
    expect(err.message).toContain(databaseFile(t.node.config));
    expect(err.message).toMatch(/readonly|read-only/);
    expect(err.message).toMatch(/stays sealed/);
    expect(t.node.context).toBeUndefined();
    expect(await health(t.endpoint)).toBe('NOT_SERVING');
    const s = await t.client.call<{ sealed: boolean }>('OperatorService', 'Status');
    expect(s.sealed).toBe(true);
    expect(t.node.unsealProgress).toBe(0); // the shares were discarded with the failed attempt
    const committee = await callError(t.client.call('PublicService', 'GetCommittee'));
    expect(grpc.status[committee.code]).toBe('FAILED_PRECONDITION');

    t.node.db.pragma('query_only = OFF');
    await t.client.call<UnsealRes>('OperatorService', 'Unseal', { share: t.shares[1] });
    const done = await t.client.call<UnsealRes>('OperatorService', 'Unseal', { share: t.shares[2] });
    expect(done.sealed).toBe(false);
    expect(await health(t.endpoint)).toBe('SERVING');
  });
});

describe('the high-water mark on a node', () => {
  test('is written before an answer leaves, and an older database put back is refused at start', async () => {
    const t = await startTestNode();
    const file = databaseFile(t.node.config);
    const older = path.join(t.dir, 'older.sqlite');
    await t.node.db.backup(older); // a consistent copy of the live database, before it acknowledged anything
    await t.client.call('OperatorService', 'Unseal', { share: t.shares[0] });
    await t.client.call('OperatorService', 'Unseal', { share: t.shares[1] });
    // The unseal wrote audit rows; its answer came after the file caught up.
    expect(readMarkFile(highWaterFile(file))!.counter).toBe(readDatabaseMark(t.node.db).counter);
    t.node.context!.ceremonies.saveCertificate(1, new Uint8Array([1, 2]), new Uint8Array(64));
    const before = readMarkFile(highWaterFile(file))!.counter;
    await t.client.call('OperatorService', 'Status');
    const after = readMarkFile(highWaterFile(file))!.counter;
    expect(after).toBeGreaterThan(before);
    expect(after).toBe(readDatabaseMark(t.node.db).counter);
    await t.stop();

    for (const s of ['-wal', '-shm']) fs.rmSync(file + s, { force: true });
    fs.copyFileSync(older, file);
    fs.chmodSync(file, 0o600);
    const logFile = path.join(t.dir, 'restart.log');
    let err: unknown;
    try {
      new GatekeeperNode(t.node.config, pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true })));
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(HighWaterError);
    expect((err as Error).message).toMatch(new RegExp(`the high-water file .* says ${after} `));
    expect((err as Error).message).toMatch(/restore/i);
  });
});
