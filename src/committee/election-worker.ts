// The body of the election worker thread (snapshot-intake.ts starts it): decodes a governance-checked
// snapshot, verifies every candidacy and runs the election (DESIGN §3.2) away from the node's event
// loop, and posts the outcome back. One snapshot per thread; the parent terminates it at its deadline.
import { parentPort, workerData } from 'node:worker_threads';
import { electFromSnapshot, SnapshotError } from './snapshot.js';

export type ElectionReply =
  | { ok: true; outcome: ReturnType<typeof electFromSnapshot> }
  | { ok: false; snapshotError: boolean; message: string };

const { snapshot } = workerData as { snapshot: Uint8Array };
let reply: ElectionReply;
try {
  reply = { ok: true, outcome: electFromSnapshot(snapshot) };
} catch (err) {
  reply = { ok: false, snapshotError: err instanceof SnapshotError, message: err instanceof Error ? err.message.slice(0, 300) : 'the election failed' };
}
parentPort!.postMessage(reply);
