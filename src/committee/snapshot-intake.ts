// Intake of a governance-signed election snapshot (DESIGN §3.1–3.2), ordered so that nobody can make a
// node spend much before it knows the snapshot is governance's (docs/snapshot-intake.md):
//   1. governance signatures over the raw snapshot bytes (nothing decoded yet): PERMISSION_DENIED;
//   2. a scan of the wire bytes for the caps below, without decoding candidacies: RESOURCE_EXHAUSTED
//      (or INVALID_ARGUMENT for bytes that are not a Snapshot); it also yields the candidates' keys;
//   3. for a peer call, the caller must be a candidate of that snapshot or a member of the current
//      roster: PERMISSION_DENIED;
//   4. only then decoding, every candidacy signature and the election: a large snapshot in a worker
//      thread with a deadline, so the node keeps answering (Status, long polls, peers) while it runs; a
//      small one (a committee's usual size) on the event loop, where it takes milliseconds and a worker
//      thread's start alone (a fresh V8 isolate loading the protos) took about 0.4 s of CPU.
// GenesisCeremony.accept (src/node/genesis.ts) runs these steps for genesis and for later election rounds.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import protobuf from 'protobufjs';
import { bytesToHex } from '@noble/hashes/utils.js';
import { invalidArgument, permissionDenied, resourceExhausted, unavailable } from '../rpc/errors.js';
import { protoDir } from '../rpc/proto.js';
import { electFromSnapshot, snapshotHash, verifyGovernance, SnapshotError, type ElectionOutcome, type SignedSnapshotMsg } from './snapshot.js';
import type { ElectionReply } from './election-worker.js';

/**
 * What one node accepts in a snapshot. Candidacies and nominations admit the benchmark's largest
 * election input (bench/election: 1,500 candidates, 22,500 voters with 16 votes each); 16 votes per
 * voter is Substrate's MaxVotesPerVoter; 100 seats bounds the FROST committee (its DKG is n² messages).
 * The request size limit (config maxMessageBytes, 4 MiB by default) binds first for large nominations.
 */
export const SNAPSHOT_LIMITS = {
  maxCandidacies: 1_500,
  maxNominations: 25_000,
  maxTargetsPerNomination: 16,
  maxSeats: 100,
  /** An election running longer than this in its worker is stopped and the snapshot refused. */
  electionTimeoutMs: 60_000,
  /** Distinct snapshots elected at once; more are refused (RESOURCE_EXHAUSTED) until one finishes. */
  maxConcurrentElections: 2,
  /** V8 old-generation limit of an election worker. */
  workerHeapMb: 512,
  /**
   * A snapshot with at most this many candidacies and nomination targets is elected on the event loop
   * (about 25–45 ms at the bounds on the development machine, mostly the candidacy signatures); a
   * larger one in a worker thread.
   */
  inlineMaxCandidacies: 64,
  inlineMaxEdges: 1_024,
};

export type SnapshotLimits = typeof SNAPSHOT_LIMITS;

/** What the wire scan learns without decoding candidacies or nominations. */
export interface SnapshotScan {
  epoch: number;
  seats: number;
  candidacies: number;
  nominations: number;
  /** Sum of all nominations' targets. */
  edges: number;
  /** Hex x-only identity keys of the candidacies, as the snapshot lists them (signatures not checked yet). */
  identityKeys: Set<string>;
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/**
 * Walks the top-level fields of Snapshot bytes (common.proto: epoch = 1, seats = 2, candidacies = 4,
 * nominations = 5), counting candidacies and nominations and stopping at the first cap exceeded. A
 * known field with the wrong wire type is refused, so the scan and the worker's decode agree.
 */
export function scanSnapshot(bytes: Uint8Array, limits: SnapshotLimits = SNAPSHOT_LIMITS): SnapshotScan {
  const out: SnapshotScan = { epoch: 0, seats: 0, candidacies: 0, nominations: 0, edges: 0, identityKeys: new Set() };
  const malformed = () => new SnapshotError('the snapshot bytes are not a valid Snapshot message');
  try {
    const r = protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      const expect = (w: number) => { if (wire !== w) throw malformed(); };
      switch (field) {
        case 1: expect(WIRE_VARINT); out.epoch = r.uint32(); break;
        case 2: expect(WIRE_VARINT); out.seats = r.uint32(); break;
        case 4: {
          expect(WIRE_LEN);
          if (++out.candidacies > limits.maxCandidacies) {
            throw new SnapshotError(`the snapshot has more than ${limits.maxCandidacies} candidacies (this node's limit)`, 'exhausted');
          }
          const key = lastBytesField(r.bytes(), 1);
          if (key) out.identityKeys.add(bytesToHex(key));
          break;
        }
        case 5: {
          expect(WIRE_LEN);
          if (++out.nominations > limits.maxNominations) {
            throw new SnapshotError(`the snapshot has more than ${limits.maxNominations} nominations (this node's limit)`, 'exhausted');
          }
          const targets = countBytesField(r.bytes(), 3);
          if (targets > limits.maxTargetsPerNomination) {
            throw new SnapshotError(`nomination ${out.nominations - 1} names ${targets} targets; at most ${limits.maxTargetsPerNomination} are accepted`, 'exhausted');
          }
          out.edges += targets;
          break;
        }
        default: r.skipType(wire);
      }
    }
  } catch (err) {
    if (err instanceof SnapshotError) throw err;
    throw malformed();
  }
  if (out.seats > limits.maxSeats) throw new SnapshotError(`the snapshot asks for ${out.seats} seats; at most ${limits.maxSeats} are accepted`, 'exhausted');
  return out;
}

/** The last occurrence of a bytes field (proto3: the last one wins), or undefined. */
function lastBytesField(msg: Uint8Array, field: number): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  const r = protobuf.Reader.create(msg);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === field) {
      if ((tag & 7) !== WIRE_LEN) throw new Error('wire type');
      found = r.bytes();
    } else r.skipType(tag & 7);
  }
  return found;
}

function countBytesField(msg: Uint8Array, field: number): number {
  let n = 0;
  const r = protobuf.Reader.create(msg);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === field && (tag & 7) !== WIRE_LEN) throw new Error('wire type');
    if (tag >>> 3 === field) n++;
    r.skipType(tag & 7);
  }
  return n;
}

/** The gRPC status for a SnapshotError (anything else is passed through unchanged). */
export function snapshotRpcError(err: unknown): unknown {
  if (!(err instanceof SnapshotError)) return err;
  if (err.kind === 'unauthorized') return permissionDenied(err.message);
  if (err.kind === 'exhausted') return resourceExhausted(err.message);
  return invalidArgument(err.message);
}

/** The built worker script: next to this module, or (sources run by jest) under dist/. */
function workerUrl(): URL {
  const here = new URL('./election-worker.js', import.meta.url);
  if (fs.existsSync(fileURLToPath(here))) return here;
  const built = path.join(path.dirname(protoDir()), 'dist', 'src', 'committee', 'election-worker.js');
  if (!fs.existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
  return pathToFileURL(built);
}

/**
 * Runs electFromSnapshot: a small snapshot on the event loop, a large one in a worker thread (one per
 * distinct snapshot, stopped at its deadline); the same bytes asked twice share one run, and recent
 * outcomes are remembered (an election is a pure function of the bytes).
 */
export class ElectionRunner {
  /** Elections started and finished, and worker threads started for them (tests: no candidacy is verified outside them). */
  readonly counters = { started: 0, finished: 0, workers: 0 };
  private readonly running = new Map<string, { promise: Promise<ElectionOutcome>; worker?: Worker }>();
  private readonly recent = new Map<string, ElectionOutcome>();
  private closing = false;

  constructor(private readonly limits: SnapshotLimits = SNAPSHOT_LIMITS) {}

  /**
   * The outcome for these snapshot bytes; rejects with an RpcError. `size` (from scanSnapshot of the
   * same bytes) says whether it is small enough to run on the event loop; without it, a worker runs it.
   */
  elect(snapshotBytes: Uint8Array, size?: { candidacies: number; edges: number }): Promise<ElectionOutcome> {
    const key = bytesToHex(snapshotHash(snapshotBytes));
    const hit = this.recent.get(key);
    if (hit) return Promise.resolve(hit);
    const pending = this.running.get(key);
    if (pending) return pending.promise;
    if (this.closing) return Promise.reject(unavailable('this node is shutting down'));
    if (this.running.size >= this.limits.maxConcurrentElections) {
      return Promise.reject(resourceExhausted(`${this.running.size} elections are already running on this node; retry later`));
    }
    const entry: { promise: Promise<ElectionOutcome>; worker?: Worker } = { promise: Promise.resolve(undefined as never) };
    const small = !!size && size.candidacies <= this.limits.inlineMaxCandidacies && size.edges <= this.limits.inlineMaxEdges;
    const run = small ? this.inline(snapshotBytes) : this.inWorker(snapshotBytes, (w) => { entry.worker = w; });
    entry.promise = run.then((outcome) => {
      if (this.recent.size >= 16) this.recent.clear();
      this.recent.set(key, outcome);
      return outcome;
    }).finally(() => { this.running.delete(key); });
    this.running.set(key, entry);
    return entry.promise;
  }

  /** The election on the event loop (small snapshots only), with the worker's error mapping. */
  private async inline(snapshot: Uint8Array): Promise<ElectionOutcome> {
    this.counters.started++;
    try {
      return electFromSnapshot(snapshot);
    } catch (err) {
      const message = err instanceof Error ? err.message.slice(0, 300) : 'the election failed';
      throw err instanceof SnapshotError ? invalidArgument(message) : new Error(`election: ${message}`);
    } finally {
      this.counters.finished++;
    }
  }

  private inWorker(snapshot: Uint8Array, started: (w: Worker) => void): Promise<ElectionOutcome> {
    return new Promise<ElectionOutcome>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = new Worker(workerUrl(), {
          workerData: { snapshot }, resourceLimits: { maxOldGenerationSizeMb: this.limits.workerHeapMb },
        });
      } catch (err) {
        reject(err);
        return;
      }
      started(worker);
      this.counters.started++;
      this.counters.workers++;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.counters.finished++;
        fn();
        void worker.terminate();
      };
      const timer = setTimeout(() => finish(() => reject(resourceExhausted(
        `the election did not finish within ${this.limits.electionTimeoutMs} ms; the snapshot is too large for this node`))), this.limits.electionTimeoutMs);
      worker.once('message', (reply: ElectionReply) => finish(() => {
        if (reply.ok) resolve(reply.outcome);
        else if (reply.snapshotError) reject(invalidArgument(reply.message));
        else reject(new Error(`election worker: ${reply.message}`));
      }));
      worker.once('error', (err: Error & { code?: string }) => finish(() => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') reject(resourceExhausted('the election ran out of memory; the snapshot is too large for this node'));
        else reject(err);
      }));
      worker.once('exit', (code) => finish(() => reject(this.closing ? unavailable('this node is shutting down')
        : new Error(`the election worker exited with code ${code} before answering`))));
    });
  }

  /** Stops every running election (the node is stopping); their callers get UNAVAILABLE. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.running.values()].map((r) => r.worker?.terminate()));
  }
}

export interface CallerScope {
  /** The x-only identity key that signed the peer call. */
  caller: Uint8Array;
  /** Hex identity keys of the current roster's members (empty before the first committee). */
  members: Iterable<string>;
}

/**
 * The intake steps for one node's governance configuration. `screen` does steps 1–3 (cheap, on the
 * event loop); `elect` does step 4 (in a worker thread unless the snapshot is small).
 */
export class SnapshotIntake {
  readonly runner: ElectionRunner;

  constructor(private readonly governance: { keys: string[]; threshold: number }, readonly limits: SnapshotLimits = SNAPSHOT_LIMITS) {
    this.runner = new ElectionRunner(limits);
  }

  /** Steps 1–3: governance, caps, caller. Throws an RpcError; nothing of the candidacies is verified. */
  screen(signed: SignedSnapshotMsg, scope?: CallerScope): SnapshotScan {
    try {
      verifyGovernance(signed, this.governance.keys, this.governance.threshold);
    } catch (err) {
      throw snapshotRpcError(err);
    }
    let scan: SnapshotScan;
    try {
      scan = scanSnapshot(signed.snapshot, this.limits);
    } catch (err) {
      throw snapshotRpcError(err);
    }
    if (scope) {
      const caller = bytesToHex(scope.caller);
      const member = [...scope.members].includes(caller);
      if (!member && !scan.identityKeys.has(caller)) {
        throw permissionDenied('only a candidate of the snapshot or a member of the current committee may offer it');
      }
    }
    return scan;
  }

  /** Step 4: the election (decoding, every candidacy signature, seq-Phragmén); a large snapshot's in a worker thread. */
  async elect(signed: SignedSnapshotMsg, scan: SnapshotScan): Promise<ElectionOutcome> {
    const outcome = await this.runner.elect(signed.snapshot, scan);
    if (outcome.epoch !== scan.epoch) throw invalidArgument('the snapshot decodes to another epoch than it scans to');
    return outcome;
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}
