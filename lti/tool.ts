/**
 * @file The LTI tool, assembled: ltijs (Express 4, its own mongoose 7
 * connection to the same database) mounted as a sub-app under /lti of our
 * Express 5 app, our checks around its launch, our own routes beside it,
 * the AGS score sender of the grade outbox and the sweeps of what TTL
 * indexes would expire on MongoDB.
 *
 * Routes under /lti:
 *   POST /lti/login, GET /lti/login   OIDC login initiation (ltijs)
 *   POST /lti                         launch: id_token (ltijs verifies, we check more)
 *   GET  /lti/keys                    the tool's JWKS (ltijs)
 *   POST /lti/deep-linking            the lab picker's answer (ltik in the form)
 *   POST /lti/session                 one-time launch code → browser session token
 *   POST /lti/launch-codes            (signed in) a new code, to open the instance in a new window
 *   GET  /lti/register                dynamic registration
 *   GET/POST/DELETE /lti/platforms    (admins) manual registration
 *   GET  /lti/courses/:id/roster      (instructors) NRPS roster + instance state + score
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { type Authenticator, apiTokenAuthenticator, authenticate } from '../server/api/auth.js';
import { SESSION_HOURS, SESSION_TOKEN_NAME } from '../server/api/session.js';
import { instructsCourse, isAdmin } from '../server/domain/access.js';
import { badRequest, forbidden, HttpError, notFound, unauthorized } from '../server/errors.js';
import type { ScoreDelivery, ScoreSender } from '../server/jobs/grade-outbox.js';
import type { Logger } from '../server/log.js';
import { hashToken, newApiToken } from '../server/secrets.js';
import type { InstanceLifecycle } from '../server/services/instances.js';
import type { Store } from '../server/store/store.js';
import { CLAIM, checkLaunch, courseRole, type IdTokenPayload, LaunchRefused, subjectOf } from './claims.js';
import { labChoices, resourceLinkItem } from './deep-linking.js';
import { registerDynamically, registrationDonePage } from './dynamic-registration.js';
import { issueLaunchCode, recordMember, resourceLinkLaunch } from './launch.js';
import { interceptLogin, takeLaunchState } from './launch-state.js';
import { Ltijs, type Ltijs4Request, type Ltijs4Response, type LtijsToken } from './ltijs.js';
import { errorPage, labPickerPage } from './pages.js';
import { platformInput, Registrations } from './registration.js';
import { courseRoster } from './roster.js';
import { PlatformServices } from './services.js';

export interface LtiOptions {
  store: Store;
  lifecycle: InstanceLifecycle;
  log: Logger;
  /** Base URL users reach the tool at (known after listen when the port is chosen by the OS). */
  publicUrl: () => string;
  mongodbUri: string;
  /** Secret for ltiks and the keys ltijs stores encrypted. */
  encryptionKey: string;
  /** Seconds an id_token's iat may be old (default 60; ltijs's own is 10). */
  tokenMaxAge?: number;
  /** Seconds from our login redirect to the id_token. */
  loginMaxAge?: number;
  launchCodeSeconds?: number;
  /** Dynamically registered platforms start active (default: an admin activates them). */
  autoActivate?: boolean;
}

const ERRORS: Array<[RegExp, string, string]> = [
  [
    /invalid signature|invalid algorithm|jwt malformed|INVALID_JWT/i,
    'bad_signature',
    'the id_token signature does not verify with the platform key',
  ],
  [
    /KID_NOT_FOUND|KEY_NOT_FOUND|KEYSET_NOT_FOUND/,
    'unknown_key',
    'the id_token is signed with a key (kid) the platform does not publish',
  ],
  [/jwt expired/i, 'token_expired', 'the id_token has expired'],
  [/jwt not active/i, 'token_not_yet_valid', 'the id_token is not valid yet'],
  [/TOKEN_TOO_OLD/, 'token_too_old', 'the id_token was issued too long ago (iat)'],
  [/NONCE_ALREADY_RECEIVED/, 'nonce_replayed', 'this id_token nonce was used before: a replayed launch'],
  [/UNREGISTERED_PLATFORM/, 'unknown_platform', 'no platform is registered for this issuer (iss) and client id (aud)'],
  [/PLATFORM_NOT_ACTIVATED/, 'platform_inactive', 'this platform is registered but not activated by an administrator'],
  [/ALG_NOT_RS256/, 'bad_algorithm', 'the id_token must be signed with RS256'],
  [/AZP_DOES_NOT_MATCH/, 'azp_mismatch', 'the id_token azp is not our client id'],
  [/ISS_CLAIM_DOES_NOT_MATCH/, 'iss_mismatch', 'the id_token issuer is not the one that started the login'],
  [/WRONG_LTI_VERSION/, 'bad_version', 'the LTI version claim must be 1.3.0'],
  [/NO_([A-Z_]+)_CLAIM/, 'missing_claim', 'a required claim is missing'],
  [/NO_LTIK_OR_IDTOKEN_FOUND/, 'no_launch', 'no launch here: open the activity from the course'],
];

function describeLtijsError(message: string): { code: string; text: string } {
  for (const [pattern, code, text] of ERRORS) {
    const m = pattern.exec(message);
    if (m) return { code, text: code === 'missing_claim' ? `the id_token has no ${m[1]?.toLowerCase()} claim` : text };
  }
  return { code: 'invalid_launch', text: `the launch could not be verified (${message})` };
}

export class LtiTool {
  readonly registrations: Registrations;
  readonly services: PlatformServices;
  private sweeper?: NodeJS.Timeout;

  private constructor(
    private readonly o: Required<Omit<LtiOptions, 'autoActivate'>> & { autoActivate: boolean },
    private readonly ltijs: Ltijs,
  ) {
    this.registrations = new Registrations(ltijs, o.store);
    this.services = new PlatformServices(ltijs);
  }

  static async start(options: LtiOptions): Promise<LtiTool> {
    const o = {
      tokenMaxAge: 60,
      loginMaxAge: 600,
      launchCodeSeconds: 60,
      autoActivate: false,
      ...options,
    };
    let tool: LtiTool | undefined;
    const ltijs = await Ltijs.start({
      encryptionKey: o.encryptionKey,
      mongodbUri: o.mongodbUri,
      tokenMaxAge: o.tokenMaxAge,
      before: (app) =>
        app.use((req: Ltijs4Request, res: Ltijs4Response, next: () => void) => tool!.before(req, res, next)),
      onLaunch: (token, req, res) => tool!.onLaunch(token, req, res, false),
      onDeepLinking: (token, req, res) => tool!.onLaunch(token, req, res, true),
      onInvalidToken: async (req, res) => {
        const err = res.locals.err as { details?: { message?: string } } | undefined;
        const { code, text } = describeLtijsError(err?.details?.message ?? 'unknown');
        return tool!.refuse(req, res, new LaunchRefused(401, code, text));
      },
      onUnregisteredPlatform: async (req, res) =>
        tool!.refuse(
          req,
          res,
          new LaunchRefused(400, 'unknown_platform', 'no platform is registered for this issuer and client id'),
        ),
      onInactivePlatform: async (req, res) =>
        tool!.refuse(
          req,
          res,
          new LaunchRefused(401, 'platform_inactive', 'this platform waits for an administrator to activate it'),
        ),
    });
    tool = new LtiTool(o, ltijs);
    ltijs.app.post('/deep-linking', (req: Ltijs4Request, res: Ltijs4Response) => tool!.deepLinkingAnswer(req, res));
    tool.sweeper = setInterval(() => void tool!.sweep(), 60_000);
    tool.sweeper.unref();
    return tool;
  }

  /** Mounts /lti on our (Express 5) app. */
  mount(app: express.Express): void {
    app.use('/lti', this.router());
    const sub = this.ltijs.app;
    app.use('/lti', (req: Request, res: Response, next: NextFunction) => {
      // ltijs's Express 4 swaps the request/response prototypes for its own;
      // put ours back if it hands the request on.
      const reqProto = Object.getPrototypeOf(req);
      const resProto = Object.getPrototypeOf(res);
      sub(req, res, (err?: unknown) => {
        Object.setPrototypeOf(req, reqProto);
        Object.setPrototypeOf(res, resProto);
        next(err);
      });
    });
  }

  /** No extra authenticator: launches end in a browser session token (an API token). */
  get authenticators(): Authenticator[] {
    return [];
  }

  /** The outbox's sender: AGS score POST to the assignment's line item. */
  get scoreSender(): ScoreSender {
    return {
      send: async (d: ScoreDelivery) => {
        const { assignment, user } = d;
        if (!assignment.lineItemUrl || !assignment.issuer || !assignment.clientId) {
          throw Object.assign(new Error('this assignment has no line item: the LMS did not grant AGS'), {
            status: 400,
          });
        }
        const sub = subjectOf(user.key, assignment.issuer);
        if (!sub) throw Object.assign(new Error('this user did not come from that LMS'), { status: 400 });
        await this.services.postScore(assignment.issuer, assignment.clientId, assignment.lineItemUrl, {
          userId: sub,
          scoreGiven: d.score.scoreGiven,
          scoreMaximum: d.score.scoreMaximum,
          activityProgress: d.score.activityProgress,
          gradingProgress: d.score.gradingProgress,
          timestamp: d.timestamp.toISOString(),
        });
      },
    };
  }

  async sweep(): Promise<void> {
    try {
      await this.ltijs.sweep();
      await this.o.store.platforms.sweep(this.o.loginMaxAge * 1000);
    } catch (err) {
      this.o.log.warn({ err }, 'LTI sweep failed');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.ltijs.close();
  }

  /** Before ltijs: remember what our login sent; take (single use) the state of a launch. */
  private async before(req: Ltijs4Request, res: Ltijs4Response, next: () => void) {
    if (req.path === '/login') {
      interceptLogin(this.o, req, res);
      return next();
    }
    if (req.method === 'POST' && req.path === '/' && req.body?.id_token) {
      try {
        const login = await takeLaunchState(this.o, req.body, res);
        if (!login) return; // answered: the page that reads the state back from the platform's frame
        res.locals.login = login;
      } catch (err) {
        return this.refuse(req, res, err);
      }
    }
    return next();
  }

  private async onLaunch(token: LtijsToken, req: Ltijs4Request, res: Ltijs4Response, deepLinking: boolean) {
    try {
      const idToken = req.body?.id_token;
      if (typeof idToken !== 'string' || !res.locals.login) {
        throw new LaunchRefused(400, 'no_launch', 'no launch here: open the activity from the course');
      }
      // ltijs verified the signature; decoding again gives the raw claims for our checks.
      const payload = decodeJwt(idToken) as IdTokenPayload;
      const deploymentId = String(payload[CLAIM.deploymentId] ?? '');
      checkLaunch(payload, {
        login: res.locals.login,
        deploymentKnown: await this.o.store.platforms.hasDeployment({
          issuer: payload.iss,
          clientId: token.clientId,
          deploymentId,
        }),
        now: new Date(),
        loginMaxAge: this.o.loginMaxAge,
      });
      if (deepLinking) {
        if (courseRole(payload[CLAIM.roles] as string[]) !== 'instructor') {
          throw new LaunchRefused(403, 'instructors_only', 'only instructors can add labs to a course');
        }
        await recordMember(this.o.store, token.clientId, payload);
        const labs = await labChoices(this.o.store);
        return res.type('html').send(labPickerPage(`${this.o.publicUrl()}/lti/deep-linking`, res.locals.ltik, labs));
      }
      const location = await resourceLinkLaunch(
        {
          store: this.o.store,
          lifecycle: this.o.lifecycle,
          publicUrl: this.o.publicUrl(),
          launchCodeSeconds: this.o.launchCodeSeconds,
        },
        token.clientId,
        payload,
      );
      return res.redirect(303, location);
    } catch (err) {
      return this.refuse(req, res, err);
    }
  }

  private async deepLinkingAnswer(req: Ltijs4Request, res: Ltijs4Response) {
    try {
      const token = res.locals.token as LtijsToken | undefined;
      if (token?.platformContext.messageType !== 'LtiDeepLinkingRequest') {
        throw new LaunchRefused(400, 'no_deep_linking', 'this form belongs to no deep linking launch');
      }
      if (courseRole(token.platformContext.roles) !== 'instructor') {
        throw new LaunchRefused(403, 'instructors_only', 'only instructors can add labs to a course');
      }
      const name = typeof req.body?.lab === 'string' ? req.body.lab : '';
      const lab = (await labChoices(this.o.store)).find((l) => l.name === name);
      if (!lab) throw new LaunchRefused(400, 'unknown_lab', `lab: no lab named "${name}"`);
      const form = await this.ltijs.deepLinkingForm(
        token,
        [resourceLinkItem(this.o.publicUrl(), lab)],
        `Added ${lab.title}`,
      );
      return res.type('html').send(form);
    } catch (err) {
      return this.refuse(req, res, err);
    }
  }

  private refuse(req: Ltijs4Request, res: Ltijs4Response, err: unknown) {
    const refused =
      err instanceof LaunchRefused
        ? err
        : err instanceof HttpError
          ? new LaunchRefused(err.status, 'refused', err.message)
          : new LaunchRefused(500, 'internal', 'the launch failed; the server log has the details');
    if (refused.status >= 500) this.o.log.error({ err }, 'LTI launch failed');
    else this.o.log.info({ code: refused.code, reason: refused.message, path: req.path }, 'LTI launch refused');
    return res.status(refused.status).type('html').send(errorPage(refused.code, refused.message));
  }

  /** Our own routes (Express 5), before the ltijs sub-app. */
  private router(): express.Router {
    const { store } = this.o;
    const r = express.Router();
    const json = express.json({ limit: '16kb' });
    const form = express.urlencoded({ extended: false, limit: '16kb' });
    const signedIn = authenticate(store, [apiTokenAuthenticator(store)]);
    const wrap =
      (fn: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) =>
        fn(req, res).catch(next);
    const principal = (req: Request) => {
      if (!req.principal) throw unauthorized();
      return req.principal;
    };
    const admin = (req: Request) => {
      const p = principal(req);
      if (!isAdmin(p)) throw forbidden('only administrators manage LTI platforms');
      return p;
    };

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
        const instance = await this.o.lifecycle.reachable(p, body.data.instanceId);
        const code = await issueLaunchCode(store, p.user.id, instance.id, this.o.launchCodeSeconds);
        res.status(201).json({
          url: `${this.o.publicUrl()}/instances/${encodeURIComponent(instance.id)}?session=${encodeURIComponent(code)}`,
          expiresInSeconds: this.o.launchCodeSeconds,
        });
      }),
    );

    r.get(
      '/register',
      wrap(async (req, res) => {
        const configuration = req.query.openid_configuration;
        const token = req.query.registration_token;
        if (typeof configuration !== 'string')
          throw badRequest('openid_configuration: the platform configuration URL is required');
        const view = await registerDynamically(
          this.registrations,
          { publicUrl: this.o.publicUrl(), name: 'Lab Orchestrator' },
          configuration,
          typeof token === 'string' ? token : undefined,
          { active: this.o.autoActivate },
        );
        res.type('html').send(registrationDonePage(view));
      }),
    );

    r.get(
      '/platforms',
      signedIn,
      wrap(async (req, res) => {
        admin(req);
        res.json({ platforms: await this.registrations.list() });
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
        const view = await this.registrations.register(input, { active: active ?? true });
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
        const view = await this.registrations.setActive(body.data.issuer, body.data.clientId, body.data.active);
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
        if (!(await this.registrations.remove(body.data.issuer, body.data.clientId))) {
          throw notFound(`platform ${body.data.issuer} (client ${body.data.clientId})`);
        }
        res.status(204).end();
      }),
    );

    r.get(
      '/courses/:courseId/roster',
      signedIn,
      wrap(async (req, res) => {
        const p = principal(req);
        const courseId = String(req.params.courseId);
        if (!isAdmin(p) && !instructsCourse(p, courseId)) throw forbidden('only the course instructors see its roster');
        try {
          res.json({ members: await courseRoster(store, this.services, courseId) });
        } catch (err) {
          if (err instanceof HttpError) throw err;
          throw new HttpError(502, `the roster could not be read from the LMS: ${(err as Error).message}`, undefined, {
            cause: err,
          });
        }
      }),
    );
    // Errors of our own routes: JSON like the API.
    r.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (!(err instanceof HttpError)) return next(err);
      res.status(err.status).json({ error: { status: err.status, message: err.message, ...(err.details ?? {}) } });
    });
    return r;
  }
}
