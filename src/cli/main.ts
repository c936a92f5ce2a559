#!/usr/bin/env node
// The one `gatekeeper` command: each subcommand lives in its own module under src/cli/commands/
// and is loaded only when called, so `--help` stays instant and a broken subsystem cannot stop
// the others from starting.
import { UsageError } from './args.js';

export interface Command {
  summary: string;
  /** Runs the subcommand; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  election: async () => (await import('./commands/election.js')).default,
  encrypt: async () => (await import('./commands/encrypt.js')).default,
  attestation: async () => (await import('./commands/attestation.js')).default,
  audit: async () => (await import('./commands/audit.js')).default,
  backup: async () => (await import('./commands/backup.js')).default,
  ceremony: async () => (await import('./commands/ceremony.js')).default,
  candidacy: async () => (await import('./commands/candidacy.js')).default,
  contract: async () => (await import('./commands/contract.js')).default,
  genesis: async () => (await import('./commands/genesis.js')).default,
  governance: async () => (await import('./commands/governance.js')).default,
  invoke: async () => (await import('./commands/invoke.js')).default,
  keys: async () => (await import('./commands/keys.js')).default,
  policy: async () => (await import('./commands/policy.js')).default,
  refresh: async () => (await import('./commands/refresh.js')).default,
  snapshot: async () => (await import('./commands/snapshot.js')).default,
  'test-pki': async () => (await import('./commands/test-pki.js')).default,
  devnet: async () => (await import('./commands/devnet.js')).default,
  init: async () => (await import('./commands/init.js')).default,
  node: async () => (await import('./commands/node.js')).default,
  status: async () => (await import('./commands/status.js')).default,
  unseal: async () => (await import('./commands/unseal.js')).default,
  worker: async () => (await import('./commands/worker.js')).default,
};

function usage(): string {
  const lines = Object.keys(COMMANDS).sort().map((name) => `  ${name}`);
  return [
    'usage: gatekeeper <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'Run `gatekeeper <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    process.stderr.write(`gatekeeper: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  const command = await load();
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`gatekeeper ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`gatekeeper: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
