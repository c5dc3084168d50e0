/**
 * @file Where the VM driver tells what an operator should know but no caller
 * waits for: a start from a saved state, a template built, a fallback to a
 * cold boot. pino's signature, so the server passes its logger as it is.
 */
export interface DriverLog {
  info(detail: object, message: string): void;
  warn(detail: object, message: string): void;
}

/** JSON lines on stderr: the default when no logger is given (CLI, bench). */
export const stderrLog: DriverLog = {
  info: (detail, message) => console.error(JSON.stringify({ level: 'info', msg: message, ...detail })),
  warn: (detail, message) => console.error(JSON.stringify({ level: 'warn', msg: message, ...detail })),
};
