/**
 * @file The one error type of the HTTP boundary. Everything the API refuses
 * is an HttpError: a status, a message a user can act on, optional details
 * (for example the list of problems in a lab) and the cause for the log.
 */

export interface Problem {
  /** Where: a field path such as `systems[1].consoles[0]`, optionally prefixed by `file:line`. */
  path: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: { problems?: Problem[]; [key: string]: unknown },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, problems?: Problem[]) =>
  new HttpError(400, message, problems ? { problems } : undefined);
export const unauthorized = (message = 'sign in first: send an API token as "Authorization: Bearer <token>"') =>
  new HttpError(401, message);
export const forbidden = (message: string) => new HttpError(403, message);
export const notFound = (what: string) => new HttpError(404, `${what} not found`);
export const conflict = (message: string) => new HttpError(409, message);
export const notImplemented = (message: string) => new HttpError(501, message);
export const unavailable = (message: string, cause?: unknown) => new HttpError(503, message, undefined, { cause });

/** A message for any thrown value, for logs and for the CLI. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
