/**
 * @file The LTI tool, assembled: ltijs (Express 4, its own mongoose 7
 * connection to the same database) mounted as a sub-app under /lti of our
 * Express 5 app, our checks around its launch (launch-state.ts, claims.ts)
 * and what a verified launch does (launch.ts, the lab picker of deep
 * linking), our own routes beside it (*-routes.ts), the AGS score sender of
 * the grade outbox and the sweeps of what TTL indexes would expire on
 * MongoDB.
 *
 * Routes under /lti:
 *   POST /lti/login, GET /lti/login   OIDC login initiation (ltijs; Platform Storage page with lti_storage_target)
 *   POST /lti                         launch: id_token (ltijs verifies, we check more)
 *   GET  /lti/keys                    the tool's JWKS (ltijs)
 *   POST /lti/deep-linking            the lab picker's answer (ltik in the form)
 *   POST /lti/session                 one-time launch code → browser session token
 *   POST /lti/launch-codes            (signed in) a new code, to open the instance in a new window
 *   GET  /lti/register                dynamic registration
 *   GET/POST/PATCH/DELETE /lti/platforms  (admins) manual registration
 *   GET  /lti/courses/:id/roster      (instructors) NRPS roster + instance state + score
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { decodeJwt } from 'jose';
import type { Authenticator } from '../server/api/auth.js';
import { HttpError } from '../server/errors.js';
import type { ScoreSender } from '../server/jobs/grade-outbox.js';
import type { Logger } from '../server/log.js';
import type { InstanceLifecycle } from '../server/services/instances.js';
import type { Store } from '../server/store/store.js';
import { CLAIM, checkLaunch, courseRole, type IdTokenPayload, LaunchRefused } from './claims.js';
import { labChoices, resourceLinkItem } from './deep-linking.js';
import { jsonErrors } from './http.js';
import { recordMember, resourceLinkLaunch } from './launch.js';
import { interceptLogin, takeLaunchState } from './launch-state.js';
import { Ltijs, type Ltijs4Request, type Ltijs4Response, type LtijsToken } from './ltijs.js';
import { describeLtijsError } from './ltijs-errors.js';
import { errorPage, labPickerPage } from './pages.js';
import { platformRoutes } from './platform-routes.js';
import { Registrations } from './registration.js';
import { rosterRoutes } from './roster-routes.js';
import { agsScoreSender } from './score-sender.js';
import { PlatformServices } from './services.js';
import { sessionRoutes } from './session-routes.js';

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
      // Express 5's req.query is a getter of its prototype: Express 4 sees a query already parsed, then swaps
      // the prototype and loses it (a GET login initiation had no parameters). Keep it as an own property.
      Object.defineProperty(req, 'query', { value: req.query, writable: true, configurable: true, enumerable: true });
      sub(req, res, (err?: unknown) => {
        Object.setPrototypeOf(req, reqProto);
        Object.setPrototypeOf(res, resProto);
        delete (req as { query?: unknown }).query;
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
    return agsScoreSender(this.services);
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
    const r = express.Router();
    r.use(sessionRoutes(this.o));
    r.use(platformRoutes({ ...this.o, registrations: this.registrations }));
    r.use(rosterRoutes({ store: this.o.store, services: this.services }));
    r.use(jsonErrors);
    return r;
  }
}
