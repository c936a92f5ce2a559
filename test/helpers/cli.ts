// Runs a CLI command module in-process and captures what it prints.
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Command } from '../../src/cli/main.js';
import { UsageError } from '../../src/cli/args.js';
import { REPO_ROOT } from './shared.js';

export async function runCommand(command: Command, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const [realOut, realErr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string | Uint8Array) => { out += String(s); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { err += String(s); return true; }) as typeof process.stderr.write;
  try {
    return { code: await command.run(argv), out, err };
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
  }
}

/** Runs `gatekeeper CMD ARGV...` in-process: the command module under src/cli/commands. */
export async function runCli(cmd: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { default: command } = await import(`../../src/cli/commands/${cmd}.js`) as { default: Command };
  return runCommand(command, argv);
}

/**
 * Runs `gatekeeper CMD ARGV...` in-process as src/cli/main.ts does: a UsageError becomes exit 2 with
 * `gatekeeper CMD: MESSAGE` on stderr. For checks of a command's own messages and codes; a test of the
 * binary itself (its process exit code) uses runBuiltCli.
 */
export async function runCliAsMain(cmd: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { default: command } = await import(`../../src/cli/commands/${cmd}.js`) as { default: Command };
  let usage = '';
  const r = await runCommand({ summary: command.summary, run: async (a) => {
    try {
      return await command.run(a);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      usage = `gatekeeper ${cmd}: ${e.message}\n`;
      return 2;
    }
  } }, argv);
  return { ...r, err: r.err + usage };
}

/** The built `gatekeeper` command (`npm run build` first). */
export const BUILT_CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
/** The environment the built CLI runs in, as an operator runs it: without jest's VM-modules flag (and its warning). */
export const CLI_ENV = { ...process.env, NODE_OPTIONS: '' };
const execFileAsync = promisify(execFile);

/** Runs the built `gatekeeper ARGS...` as a separate process; a non-zero exit is returned, not thrown. */
export async function runBuiltCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await execFileAsync(process.execPath, [BUILT_CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: CLI_ENV });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: err.stdout ?? '', err: err.stderr ?? '' };
  }
}

/** A loopback HOST:PORT nothing listens on (a member that is down). */
export async function deadEndpoint(): Promise<string> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}
