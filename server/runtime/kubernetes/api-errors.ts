/**
 * @file What the API server answered, for the driver's decisions (409 on
 * create: adopt; 404 on delete: done) and for messages a user can read.
 */
import { ApiException } from '@kubernetes/client-node';
import { RuntimeError } from '../runtime.js';

/** The HTTP status of a failed API call, or undefined for other errors (network, bugs). */
export function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;

/**
 * A pod refused because its namespace has no "default" service account yet:
 * the controller manager adds one to every new namespace a moment after it
 * is created, so a pod made right after its namespace may meet this. Worth
 * a retry, not a failure.
 */
export const isServiceAccountPending = (err: unknown) =>
  statusCode(err) === 403 &&
  /error looking up service account \S+: serviceaccount "[^"]+" not found/.test(apiMessage(err));

/** The server's own message (a Status object's `message`), else the error's. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
    return typeof message === 'string' ? message : `HTTP ${err.code}`;
  }
  if (err instanceof Error) return err.message;
  // WebSocket failures arrive as error events that carry a message.
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : String(err);
}

/** A RuntimeError saying what was being done and what the cluster answered. */
export function runtimeError(doing: string, err: unknown): RuntimeError {
  const code = statusCode(err);
  const kind =
    code === 404
      ? 'not-found'
      : code === 422 || code === 400
        ? 'bad-spec'
        : code === undefined || code >= 500
          ? 'unavailable'
          : 'failed';
  return new RuntimeError(`${doing}: ${apiMessage(err)}`, kind, { cause: err });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
