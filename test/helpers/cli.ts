// Runs a CLI command module in-process and captures what it prints.
import type { Command } from '../../src/cli/main.js';

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
