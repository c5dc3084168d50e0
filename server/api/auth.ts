/**
 * @file Who is calling. A request is authenticated by one of the
 * authenticators, in order: an API token (`Authorization: Bearer lo_...`),
 * then whatever the server adds (the browser session, the LTI launch's
 * ltik). The principal carries the user and their course roles.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../domain/access.js';
import { unauthorized } from '../errors.js';
import { hashToken, TOKEN_PREFIX } from '../secrets.js';
import type { Store } from '../store/store.js';
import type { User } from '../store/users.js';
import { signInLimits } from './sign-in-limits.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** How the principal was recognised. */
    authVia?: string;
  }
}

/** Returns the user of a request, undefined when this authenticator does not apply, or throws 401. */
export type Authenticator = (req: Request) => Promise<User | undefined>;

export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

export function apiTokenAuthenticator(store: Store): Authenticator {
  return async (req) => {
    const token = bearerToken(req);
    if (!token?.startsWith(TOKEN_PREFIX)) return undefined;
    const found = await store.tokens.findLive(hashToken(token));
    if (!found) {
      // Counted per client address; over the limit the answer is 429 (sign-in-limits.ts).
      await signInLimits(store).failed(req);
      throw unauthorized('this API token is unknown, revoked or expired');
    }
    const user = await store.users.get(found.userId);
    if (!user) throw unauthorized('the user of this API token no longer exists');
    return user;
  };
}

export async function principalOf(store: Store, user: User): Promise<Principal> {
  return { user, memberships: await store.users.memberships(user.id) };
}

/** Sets req.principal when a credential is present; routes decide whether one is required. */
export function authenticate(store: Store, authenticators: Authenticator[]) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    try {
      for (const [i, authenticator] of authenticators.entries()) {
        const user = await authenticator(req);
        if (user) {
          req.principal = await principalOf(store, user);
          req.authVia = String(i);
          break;
        }
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}
