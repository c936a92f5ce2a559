// Small shared helpers for subcommand argument parsing on top of node:util parseArgs.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage or unreadable input: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` strictly; unknown flags and missing values become UsageError. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Returns the named string option or throws UsageError saying it is required. */
export function requireOption(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}
