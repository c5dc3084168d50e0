/**
 * @file The browser session of a launch: the workspace page trades the
 * one-time launch code it was sent to (seconds, single use) for a session
 * token (`POST /lti/session`, the same answer as `POST /api/v1/session`
 * plus the instance), and a signed-in page gets a fresh code to open the
 * instance in a new window (`POST /lti/launch-codes`). No cookie anywhere:
 * the tool lives in a third-party iframe.
 */
import express from 'express';
import { z } from 'zod';
import { apiTokenAuthenticator, authenticate } from '../server/api/auth.js';
import { SESSION_HOURS, SESSION_TOKEN_NAME } from '../server/api/session.js';
import { badRequest, unauthorized } from '../server/errors.js';
import { hashToken, newApiToken } from '../server/secrets.js';
import type { InstanceLifecycle } from '../server/services/instances.js';
import type { Store } from '../server/store/store.js';
import { form, json, principal, wrap } from './http.js';
import { issueLaunchCode } from './launch.js';

export interface SessionRoutesDeps {
  store: Store;
  lifecycle: InstanceLifecycle;
  publicUrl: () => string;
  /** Lifetime of a launch code (seconds). */
  launchCodeSeconds: number;
}

export function sessionRoutes(deps: SessionRoutesDeps): express.Router {
  const { store } = deps;
  const r = express.Router();
  const signedIn = authenticate(store, [apiTokenAuthenticator(store)]);

  r.post(
    '/session',
    json,
    form,
    wrap(async (req, res) => {
      const code = z.object({ code: z.string().min(1).max(200) }).safeParse(req.body);
      if (!code.success) throw badRequest('code: the one-time launch code is required');
      const found = await store.platforms.takeLaunchCode(hashToken(code.data.code));
      if (!found) throw unauthorized('this launch code is unknown, expired or already used: open the activity again');
      const user = await store.users.get(found.userId);
      if (!user) throw unauthorized('the user of this launch no longer exists');
      const { token, hash, prefix } = newApiToken();
      const expiresAt = new Date(Date.now() + SESSION_HOURS * 3_600_000);
      const created = await store.tokens.create({
        userId: user.id,
        name: SESSION_TOKEN_NAME,
        hash,
        prefix,
        expiresAt,
      });
      await store.audit.record({
        actorId: user.id,
        action: 'session.create',
        target: `token:${created.id}`,
        details: { via: 'lti' },
      });
      res.status(201).json({
        token,
        expiresAt: expiresAt.toISOString(),
        user: { id: user.id, name: user.name, admin: user.admin },
        instanceId: found.instanceId,
      });
    }),
  );

  r.post(
    '/launch-codes',
    json,
    signedIn,
    wrap(async (req, res) => {
      const p = principal(req);
      const body = z.object({ instanceId: z.string().min(1) }).safeParse(req.body);
      if (!body.success) throw badRequest('instanceId: required');
      const instance = await deps.lifecycle.reachable(p, body.data.instanceId);
      const code = await issueLaunchCode(store, p.user.id, instance.id, deps.launchCodeSeconds);
      res.status(201).json({
        url: `${deps.publicUrl()}/instances/${encodeURIComponent(instance.id)}?session=${encodeURIComponent(code)}`,
        expiresInSeconds: deps.launchCodeSeconds,
      });
    }),
  );
  return r;
}
