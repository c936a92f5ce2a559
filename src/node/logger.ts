// Structured logs (pino, JSON lines). Nothing secret is ever passed to a log call; the redaction list
// is a second line of defence for field names that could carry secret material.
import pino from 'pino';

export type Logger = pino.Logger;

export const REDACTED_FIELDS = [
  'share', 'shares', 'unsealShares', 'secret', 'secretKey', 'dataKey', 'signingShare', 'nonces',
  '*.share', '*.shares', '*.secret', '*.secretKey', '*.signingShare', '*.nonces',
];

/** A logger writing JSON lines to stdout, or to `destination` (anything with write(line)). */
export function createLogger(name: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACTED_FIELDS, censor: '[redacted]' } }, destination ?? pino.destination(1));
}
