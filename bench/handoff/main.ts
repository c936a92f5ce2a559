// CPU cost of the hand-off's pure phases (src/ceremony/handoff/) per dealer and per new member, for a
// committee of n = 16 handing off to n = 16 (k = 11 both sides, DESIGN §1's default), median of
// several runs, each also as a ratio to one secp256k1 base multiplication timed in the same run
// (as bench/genesis prints), so figures from this shared machine compare across runs.
// Run: npm run build && node dist/bench/handoff/main.js [--n 16] [--k 11] [--runs 5]
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { generateIdentityKey } from '../../src/crypto/identity.js';
import { generateTransportKeyPair } from '../../src/crypto/hpke.js';
import {
  dkgRound1, dkgRound2, dkgRound3, identifierForPosition, publicPackage,
  type DkgRound2Package, type KeyPackage, type Suite,
} from '../../src/crypto/frost.js';
import { GENESIS_PREVIOUS_HASH, type Roster } from '../../src/committee/roster.js';
import {
  acknowledge, checkProposal, combine, deal, handoffSetup, propose, verifyHandoffComplaint, type AcknowledgeResult,
} from '../../src/ceremony/handoff/index.js';

const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const n = arg('n', 16);
const k = arg('k', 11);
const runs = arg('runs', 5);

const baseMultiply = () => secp256k1.Point.BASE.multiply(secp256k1.Point.Fn.fromBytes(secp256k1.utils.randomSecretKey()));
function cpuMs(): number { const c = process.cpuUsage(); return (c.user + c.system) / 1000; }
async function timeOnce(fn: () => unknown): Promise<number> { const t = cpuMs(); await fn(); return cpuMs() - t; }
async function baseMs(): Promise<number> {
  for (let i = 0; i < 20; i++) baseMultiply();
  const t = cpuMs();
  let c = 0;
  while (c < 200 || cpuMs() - t < 100) { baseMultiply(); c++; }
  return (cpuMs() - t) / c;
}
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

function dkg(suite: Suite, ids: string[]): KeyPackage[] {
  const params = { threshold: k, participants: ids.length };
  const r1 = ids.map((id) => dkgRound1(suite, id, params));
  const others = (i: number) => r1.filter((_, j) => j !== i).map((x) => x.round1);
  const out: DkgRound2Package[] = r1.flatMap((x, i) => dkgRound2(x.state, others(i)));
  return r1.map((x, i) => dkgRound3(x.state, others(i), out.filter((p) => p.recipient === ids[i])));
}

async function main(): Promise<void> {
  const nodes = Array.from({ length: n }, () => {
    const id = generateIdentityKey();
    const t = generateTransportKeyPair();
    return { nodeId: new Uint8Array(randomBytes(16)), identitySecret: id.secretKey, identityKey: id.publicKey, transportSecret: t.secretKey, transportKey: t.publicKey };
  }).sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
  const ids = nodes.map((_, i) => identifierForPosition(i));
  const keys = { derivation: dkg('derivation', ids), signing: dkg('signing', ids) };
  const pub = { derivation: publicPackage(keys.derivation[0]!), signing: publicPackage(keys.signing[0]!) };
  const roster: Roster = {
    epoch: 1, threshold: k, masterPublicKey: pub.derivation.groupPublicKey, committeeKey: pub.signing.groupPublicKey, previousCertificateHash: GENESIS_PREVIOUS_HASH,
    members: nodes.map((m, i) => ({ nodeId: m.nodeId, identityKey: m.identityKey, transportKey: m.transportKey, endpoint: `h:${i}`, stake: 1n,
      shareIdentifier: hexToBytes(ids[i]!), derivationVerifyingShare: pub.derivation.verifyingShares[ids[i]!]!, signingVerifyingShare: pub.signing.verifyingShares[ids[i]!]! })),
  };
  const setup = handoffSetup(roster, 2, new Uint8Array(randomBytes(32)), { threshold: k, members: nodes });
  const dealerKeys = (i: number) => ({ nodeId: nodes[i]!.nodeId, identitySecret: nodes[i]!.identitySecret, shares: { derivation: keys.derivation[i]!, signing: keys.signing[i]! } });

  const dealings: Uint8Array[] = [];
  for (let i = 0; i < n; i++) dealings.push((await deal(setup, dealerKeys(i))).encoded);
  const acks: AcknowledgeResult[] = [];
  for (const m of nodes) acks.push(await acknowledge(setup, m, dealings));
  const proposal = propose(setup, nodes[0]!, acks.map((a) => a.encoded)).encoded;
  const q = checkProposal(setup, proposal).qualified;

  // A complaint to time the judging of (honest dealing, so the verdict is complaint-false).
  const { discloseSharedSecret, splitSealed } = await import('../../src/ceremony/complaint.js');
  const { complaintBody, decodeDealing, encodeComplaint } = await import('../../src/ceremony/handoff/messages.js');
  const { signTagged } = await import('../../src/crypto/identity.js');
  const enc = splitSealed(decodeDealing(dealings[1]!).suites.signing.sealed[0]!).enc;
  const unsigned = { epoch: 2, session: setup.session, accuser: nodes[0]!.nodeId, suite: 'signing' as const, dealing: dealings[1]!,
    disclosure: discloseSharedSecret(nodes[0]!.transportSecret, nodes[0]!.transportKey, enc) };
  const complaint = encodeComplaint({ ...unsigned, signature: signTagged(nodes[0]!.identitySecret, 'handoff-complaint', complaintBody(unsigned)) });

  const steps: [string, string, () => unknown][] = [
    ['deal', 'per dealer: 2 polynomials of degree k−1, 2k commitments, 2n HPKE seals, 1 signature', () => deal(setup, dealerKeys(3))],
    ['acknowledge', `per new member: ${n} signatures, ${2 * n} HPKE opens, ${2 * n} sub-shares in one batch, 1 signature`, () => acknowledge(setup, nodes[5]!, dealings)],
    ['checkProposal', `per new member: ${n} acknowledgement signatures + 1, re-derive Q`, () => checkProposal(setup, proposal)],
    ['combine', `per new member: ${k} dealings (signatures again), new public packages (2 × ${n} verifying shares), 2 shares`, () => combine(setup, nodes[5]!, q, dealings, acks[5]!.subShares)],
    ['verifyHandoffComplaint', 'per complaint, anyone: DLEQ check, one HPKE open, one share check', () => verifyHandoffComplaint(setup, complaint)],
  ];
  const results: { step: string; ms: number; ratio: number; note: string }[] = [];
  for (const [step, note, fn] of steps) {
    await fn(); // warm-up
    const ms: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < runs; r++) {
      const b = await baseMs();
      const t = await timeOnce(fn);
      ms.push(t);
      ratios.push(t / b);
    }
    results.push({ step, ms: median(ms), ratio: median(ratios), note });
  }
  const b = await baseMs();
  const perMember = ['acknowledge', 'checkProposal', 'combine'].reduce((s, x) => s + results.find((r) => r.step === x)!.ratio, 0);
  const perDealer = results.find((r) => r.step === 'deal')!.ratio;
  console.log(`hand-off n=${n} → n=${n}, k=${k} → k=${k}, both secrets; median of ${runs} runs; CPU ms of this process`);
  console.log(`baseline: one secp256k1 base multiplication = ${b.toFixed(3)} ms (noble, this run)`);
  for (const r of results) console.log(`  ${r.step.padEnd(24)} ${r.ms.toFixed(1).padStart(8)} ms  ${r.ratio.toFixed(0).padStart(6)} base mults   ${r.note}`);
  console.log(`per dealer (deal):                                   ${perDealer.toFixed(0)} base mults ≈ ${(perDealer * b).toFixed(0)} ms at this run's speed`);
  console.log(`per new member (acknowledge + checkProposal + combine): ${perMember.toFixed(0)} base mults ≈ ${(perMember * b).toFixed(0)} ms at this run's speed`);
  console.log(`a member in both rosters: ${(perDealer + perMember).toFixed(0)} base mults ≈ ${((perDealer + perMember) * b).toFixed(0)} ms`);
}

main().catch((e) => { console.error(e); process.exit(1); });
