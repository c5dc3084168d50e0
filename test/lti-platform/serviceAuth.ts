/**
 * @file Guards of the platform's services: the simulated outage switch, and
 * bearer tokens with scopes (RFC 6750) for AGS and NRPS.
 */
import type { Request, RequestHandler } from 'express';
import type { PlatformContext, ServiceName } from './context.js';
import { PlatformError } from './errors.js';
import type { AccessToken } from './model.js';

/** Refuses requests while a test has switched the service off. */
export function outageGate(ctx: PlatformContext, service: ServiceName): RequestHandler {
  return (req, _res, next) => {
    const outage = ctx.outage;
    if (!outage?.services.includes(service) || outage.remaining <= 0) return next();
    outage.remaining -= 1;
    ctx.refusedByOutage[service] += 1;
    if (outage.drop) {
      // As if the LMS were unreachable: the connection closes without an answer.
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> =
      outage.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(outage.retryAfterSeconds) };
    next(
      new PlatformError(
        outage.status,
        'temporarily_unavailable',
        `the platform's ${service} service is unavailable (simulated outage)`,
        'json',
        headers,
      ),
    );
  };
}

/** The access token of a service request, which must carry one of `scopes`. */
export function bearer(ctx: PlatformContext, req: Request, scopes: readonly string[]): AccessToken {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const challenge = (error: string) => ({ 'WWW-Authenticate': `Bearer realm="lti", error="${error}"` });
  if (!match?.[1]) {
    throw new PlatformError(
      401,
      'invalid_token',
      'an access token is required: Authorization: Bearer <token>',
      'json',
      challenge('invalid_token'),
    );
  }
  const token = ctx.store.accessTokens.get(match[1]);
  if (!token)
    throw new PlatformError(401, 'invalid_token', 'the access token is unknown', 'json', challenge('invalid_token'));
  if (token.expiresAt <= Date.now()) {
    throw new PlatformError(401, 'invalid_token', 'the access token has expired', 'json', challenge('invalid_token'));
  }
  if (!scopes.some((s) => token.scopes.includes(s))) {
    throw new PlatformError(
      403,
      'insufficient_scope',
      `the access token lacks the scope ${scopes.join(' or ')}`,
      'json',
      challenge('insufficient_scope'),
    );
  }
  return token;
}
