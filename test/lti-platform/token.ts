/**
 * @file The OAuth 2 token endpoint (Security Framework 1.0 §4.1, RFC 7523):
 * client_credentials with a JWT client assertion signed by the tool's key.
 * Form-encoded only. The assertion must have iss = sub = client_id,
 * aud = this endpoint, exp, iat and a jti never used before. Requested scopes
 * the tool may not have are dropped silently (Moodle); none left is an error.
 */
import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { decodeJwt, jwtVerify } from 'jose';
import type { PlatformContext } from './context.js';
import { PlatformError } from './errors.js';
import { outageGate } from './serviceAuth.js';
import { CLIENT_ASSERTION_TYPE } from './vocabulary.js';

const invalidClient = (message: string) => new PlatformError(401, 'invalid_client', message);

export function tokenRouter(ctx: PlatformContext): Router {
  const router = Router();
  router.post('/token', outageGate(ctx, 'token'), async (req, res) => {
    if (!req.is('application/x-www-form-urlencoded')) {
      throw new PlatformError(400, 'invalid_request', 'the token request must be application/x-www-form-urlencoded');
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const field = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : undefined);
    if (field('grant_type') !== 'client_credentials') {
      throw new PlatformError(
        400,
        'unsupported_grant_type',
        `grant_type must be client_credentials, got ${field('grant_type') ?? '(missing)'}`,
      );
    }
    if (field('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
      throw new PlatformError(400, 'invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
    }
    const assertion = field('client_assertion');
    if (!assertion) throw new PlatformError(400, 'invalid_request', 'client_assertion is required');

    let clientId: unknown;
    try {
      clientId = decodeJwt(assertion).sub;
    } catch {
      throw invalidClient('client_assertion is not a JWT');
    }
    const tool = typeof clientId === 'string' ? ctx.store.tools.get(clientId) : undefined;
    if (!tool) throw invalidClient(`client_assertion sub ${String(clientId)} is not a registered client_id`);
    if (tool.status !== 'active') throw invalidClient(`tool ${tool.clientId} is pending activation`);
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(assertion, ctx.toolKeys.for(tool), {
        algorithms: ['RS256'],
        issuer: tool.clientId,
        subject: tool.clientId,
        audience: ctx.urls.token,
        requiredClaims: ['jti', 'exp', 'iat'],
        clockTolerance: 5,
      }));
    } catch (err) {
      throw invalidClient(`client_assertion refused: ${err instanceof Error ? err.message : String(err)}`);
    }
    const jti = payload.jti as string;
    const now = Date.now();
    for (const [id, expiresAt] of ctx.store.usedAssertionIds)
      if (expiresAt < now - 10_000) ctx.store.usedAssertionIds.delete(id);
    if (ctx.store.usedAssertionIds.has(`${tool.clientId}\n${jti}`)) {
      throw invalidClient(`client_assertion jti ${jti} was already used`);
    }
    ctx.store.usedAssertionIds.set(`${tool.clientId}\n${jti}`, (payload.exp as number) * 1000);

    const requested = (field('scope') ?? '').split(' ').filter(Boolean);
    const granted = requested.filter((s) => tool.scopes.includes(s));
    if (granted.length === 0) {
      throw new PlatformError(
        400,
        'invalid_scope',
        `none of the requested scopes (${requested.join(' ') || 'none'}) is granted to this tool`,
      );
    }
    const accessToken = randomBytes(24).toString('base64url');
    const lifetime = ctx.options.accessTokenLifetimeSeconds;
    ctx.store.accessTokens.set(accessToken, {
      token: accessToken,
      clientId: tool.clientId,
      scopes: granted,
      expiresAt: now + lifetime * 1000,
    });
    res
      .set('Cache-Control', 'no-store')
      .json({ access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope: granted.join(' ') });
  });
  return router;
}
