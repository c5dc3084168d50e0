/**
 * @file Standalone sign-in for the browser, without cookies (cookies inside
 * LMS iframes are unreliable: LTI-NOTES.md). A user name and password (local
 * users) or an API token is exchanged for a short-lived API token named
 * "browser session", which the page keeps in sessionStorage and sends as a
 * Bearer token. Signing out revokes it.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { HttpError, unauthorized } from '../errors.js';
import { hashPassword, hashToken, newApiToken, verifyPassword } from '../secrets.js';
import type { Store } from '../store/store.js';
import type { User } from '../store/users.js';
import { bearerToken } from './auth.js';
import type { ApiRouter } from './routes.js';
import { signInLimits } from './sign-in-limits.js';

export const SESSION_TOKEN_NAME = 'browser session';
export const SESSION_HOURS = 12;

const WRONG = 'wrong user name or password';

const signInBody = z.union([
  z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }),
  z.strictObject({ token: z.string().min(1).max(200) }),
]);

const sessionView = z.object({
  token: z.string(),
  expiresAt: z.string(),
  user: z.object({ id: z.string(), name: z.string(), admin: z.boolean() }),
});

/** A hash to verify against when the user does not exist, so both failures take as long. */
let decoy: Promise<string> | undefined;

/** Refused (429) while this address, or this name from it, has failed too often (sign-in-limits.ts). */
async function byPassword(store: Store, req: Request, username: string, password: string): Promise<User> {
  const limits = signInLimits(store);
  await limits.check(req, username);
  const found = await store.users.passwordHash(`local:${username}`);
  decoy ??= hashPassword('decoy password, never valid');
  const ok = await verifyPassword(password, found?.hash ?? (await decoy));
  if (!found?.hash || !ok) {
    await limits.failed(req, username);
    throw unauthorized(WRONG);
  }
  await limits.succeeded(req, username);
  return found.user;
}

async function byToken(store: Store, req: Request, token: string): Promise<User> {
  const found = await store.tokens.findLive(hashToken(token));
  const user = found && (await store.users.get(found.userId));
  if (!user) {
    await signInLimits(store).failed(req);
    throw unauthorized('this API token is unknown, revoked or expired');
  }
  return user;
}

export function sessionRoutes(api: ApiRouter, store: Store): void {
  api.route(
    {
      method: 'post',
      path: '/session',
      tag: 'session',
      summary: `Sign in with a user name and password, or an API token; answers a ${SESSION_HOURS}-hour token for the browser`,
      auth: false,
      body: signInBody,
      status: 201,
      response: sessionView,
    },
    async ({ req, body }) => {
      const user =
        'token' in body
          ? await byToken(store, req, body.token)
          : await byPassword(store, req, body.username, body.password);
      const { token, hash, prefix } = newApiToken();
      const expiresAt = new Date(Date.now() + SESSION_HOURS * 3_600_000);
      const created = await store.tokens.create({ userId: user.id, name: SESSION_TOKEN_NAME, hash, prefix, expiresAt });
      await store.audit.record({ actorId: user.id, action: 'session.create', target: `token:${created.id}` });
      return { token, expiresAt: expiresAt.toISOString(), user: { id: user.id, name: user.name, admin: user.admin } };
    },
  );
  api.route(
    { method: 'delete', path: '/session', tag: 'session', summary: 'Sign out: revoke the browser session token' },
    async ({ req, principal }) => {
      const token = bearerToken(req);
      const found = token ? await store.tokens.findLive(hashToken(token)) : undefined;
      if (!found || found.name !== SESSION_TOKEN_NAME) {
        throw new HttpError(
          400,
          'this request is not signed in with a browser session token (API tokens: DELETE /api/v1/tokens/ID)',
        );
      }
      await store.tokens.revoke(found.id);
      await store.audit.record({ actorId: principal.user.id, action: 'session.delete', target: `token:${found.id}` });
    },
  );
}
