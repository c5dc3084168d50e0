/**
 * @file Structured JSON logs (pino). Secrets never reach a log line: the
 * redaction list covers authorization headers, cookies, tickets, passwords
 * and tokens wherever they appear in logged objects.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.ticket',
  'req.query.ltik',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.ticket',
  '*.passwordEnc',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'lab-orchestrator' } },
    destination,
  );
}
