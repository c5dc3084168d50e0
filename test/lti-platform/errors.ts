/**
 * @file The one error type of the test platform. Service endpoints (token,
 * AGS, NRPS, registration) answer it as OAuth-style JSON
 * `{ error, error_description }`; browser endpoints (launch, authorization,
 * deep linking return) as an HTML error page.
 */
import type { ErrorRequestHandler } from 'express';
import { errorPage } from './html.js';

export class PlatformError extends Error {
  constructor(
    readonly status: number,
    /** An OAuth 2 / LTI error code such as `invalid_request`, `invalid_client`, `insufficient_scope`. */
    readonly code: string,
    message: string,
    readonly format: 'json' | 'html' = 'json',
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}

export const badRequest = (message: string, code = 'invalid_request') => new PlatformError(400, code, message);
export const notFound = (what: string) => new PlatformError(404, 'not_found', `${what} not found`);
export const browserError = (status: number, code: string, message: string) =>
  new PlatformError(status, code, message, 'html');

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof PlatformError) {
    res.status(err.status).set(err.headers);
    if (err.format === 'html') res.type('html').send(errorPage(err.code, err.message));
    else res.json({ error: err.code, error_description: err.message });
    return;
  }
  // Body parser errors (bad JSON, wrong charset) carry a status; anything else is our bug.
  const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
  const message = err instanceof Error ? err.message : String(err);
  res.status(status).json({ error: status === 500 ? 'server_error' : 'invalid_request', error_description: message });
};
