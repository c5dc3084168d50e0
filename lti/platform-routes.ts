/**
 * @file Registering LMS platforms: LTI Dynamic Registration started by the
 * LMS (`GET /lti/register`) and the administrators' API
 * (`GET/POST/PATCH/DELETE /lti/platforms`; the CLI uses it).
 */
import express, { type Request } from 'express';
import { z } from 'zod';
import { apiTokenAuthenticator, authenticate } from '../server/api/auth.js';
import { isAdmin } from '../server/domain/access.js';
import { badRequest, forbidden, notFound } from '../server/errors.js';
import type { Store } from '../server/store/store.js';
import { registerDynamically, registrationDonePage } from './dynamic-registration.js';
import { json, principal, wrap } from './http.js';
import { platformInput, type Registrations } from './registration.js';

export interface PlatformRoutesDeps {
  store: Store;
  registrations: Registrations;
  publicUrl: () => string;
  /** Dynamically registered platforms start active (otherwise an admin activates them). */
  autoActivate: boolean;
}

export function platformRoutes(deps: PlatformRoutesDeps): express.Router {
  const { store } = deps;
  const r = express.Router();
  const signedIn = authenticate(store, [apiTokenAuthenticator(store)]);
  const admin = (req: Request) => {
    const p = principal(req);
    if (!isAdmin(p)) throw forbidden('only administrators manage LTI platforms');
    return p;
  };

  r.get(
    '/register',
    wrap(async (req, res) => {
      const configuration = req.query.openid_configuration;
      const token = req.query.registration_token;
      if (typeof configuration !== 'string')
        throw badRequest('openid_configuration: the platform configuration URL is required');
      const view = await registerDynamically(
        deps.registrations,
        { publicUrl: deps.publicUrl(), name: 'Lab Orchestrator' },
        configuration,
        typeof token === 'string' ? token : undefined,
        { active: deps.autoActivate },
      );
      res.type('html').send(registrationDonePage(view));
    }),
  );

  r.get(
    '/platforms',
    signedIn,
    wrap(async (req, res) => {
      admin(req);
      res.json({ platforms: await deps.registrations.list() });
    }),
  );
  r.post(
    '/platforms',
    json,
    signedIn,
    wrap(async (req, res) => {
      const p = admin(req);
      const body = platformInput.extend({ active: z.boolean().optional() }).safeParse(req.body);
      if (!body.success) {
        throw badRequest(
          'invalid platform registration',
          body.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        );
      }
      const { active, ...input } = body.data;
      const view = await deps.registrations.register(input, { active: active ?? true });
      await store.audit.record({
        actorId: p.user.id,
        action: 'platform.register',
        target: `platform:${view.issuer}#${view.clientId}`,
      });
      res.status(201).json(view);
    }),
  );
  r.patch(
    '/platforms',
    json,
    signedIn,
    wrap(async (req, res) => {
      admin(req);
      const body = z.object({ issuer: z.string(), clientId: z.string(), active: z.boolean() }).safeParse(req.body);
      if (!body.success) throw badRequest('issuer, clientId and active are required');
      const view = await deps.registrations.setActive(body.data.issuer, body.data.clientId, body.data.active);
      if (!view) throw notFound(`platform ${body.data.issuer} (client ${body.data.clientId})`);
      res.json(view);
    }),
  );
  r.delete(
    '/platforms',
    json,
    signedIn,
    wrap(async (req, res) => {
      admin(req);
      const body = z.object({ issuer: z.string(), clientId: z.string() }).safeParse(req.body);
      if (!body.success) throw badRequest('issuer and clientId are required');
      if (!(await deps.registrations.remove(body.data.issuer, body.data.clientId))) {
        throw notFound(`platform ${body.data.issuer} (client ${body.data.clientId})`);
      }
      res.status(204).end();
    }),
  );
  return r;
}
