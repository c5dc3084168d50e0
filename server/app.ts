/**
 * @file The Express application: wires the API routers, health and metrics
 * endpoints, and the one error handler. Created by main.ts and by the tests,
 * with the collaborators passed in (nothing global).
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import { adminRoutes } from './api/admin.js';
import { type Authenticator, apiTokenAuthenticator, authenticate } from './api/auth.js';
import { instanceRoutes } from './api/instances.js';
import { labRoutes } from './api/labs.js';
import { openapiDocument } from './api/openapi.js';
import { poolRoutes } from './api/pools.js';
import { progressRoutes } from './api/progress.js';
import { ApiRouter } from './api/routes.js';
import { sessionRoutes } from './api/session.js';
import { ticketRoutes } from './api/tickets.js';
import { tutorialRoutes } from './api/tutorials.js';
import { userRoutes } from './api/users.js';
import { type Config, trustProxy } from './config.js';
import { HttpError } from './errors.js';
import type { TicketBook } from './gateway/tickets.js';
import type { Logger } from './log.js';
import { createMetrics } from './metrics.js';
import type { SecretBox } from './secrets.js';
import type { InstanceLifecycle } from './services/instances.js';
import { LabCatalog, type LabImportListener } from './services/labs.js';
import type { WarmPools } from './services/pools.js';
import type { TutorialService } from './services/tutorials.js';
import type { Store } from './store/store.js';

export const VERSION = '0.1.0';

export interface AppDeps {
  config: Config;
  log: Logger;
  store: Store;
  lifecycle: InstanceLifecycle;
  secrets: SecretBox;
  /** Tutorials, progress and lab assets (absent: those routes are not served). */
  tutorials?: TutorialService;
  /** Warm pools (absent: their routes are not served). */
  pools?: WarmPools;
  /** Console tickets, shared with the gateway. */
  tickets?: TicketBook;
  /** More ways to recognise a user (browser session, LTI), after API tokens. */
  authenticators?: Authenticator[];
  /** Told when an import stored a new lab version (the lab preparation job). */
  onLabImported?: LabImportListener;
  /** Mounted before the API (e.g. /lti, the gateway's HTTP proxy, the client). */
  mount?: (app: express.Express) => void;
}

/** A URL fit for a log line: no query string (tickets, ltik) ever reaches the log. */
export const loggableUrl = (url: string) => url.split('?')[0];

export function createApp(deps: AppDeps) {
  const { config, log, store, lifecycle, secrets } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxy(config.TRUST_PROXY));
  const metrics = createMetrics(store);
  const catalog = new LabCatalog(store, deps.onLabImported);

  app.use(
    pinoHttp({
      logger: log,
      genReqId: (_req, res) => {
        const id = randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: loggableUrl(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
    }),
  );
  app.use((req, res, next) => {
    res.on('finish', () => {
      const route =
        (req.route?.path as string | undefined) ?? (res.statusCode === 404 ? 'unknown' : req.baseUrl || 'other');
      metrics.httpRequests.inc({
        method: req.method,
        route: `${req.baseUrl}${route === req.baseUrl ? '' : route}`,
        status: res.statusCode,
      });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const database = await store.ping();
    res
      .status(database ? 200 : 503)
      .json({ status: database ? 'ready' : 'not ready', database, runtime: lifecycle.runtimeName });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  deps.mount?.(app);

  const api = new ApiRouter();
  labRoutes(api, store, catalog);
  instanceRoutes(api, store, lifecycle, secrets);
  adminRoutes(api, store, lifecycle);
  userRoutes(api, store);
  sessionRoutes(api, store);
  if (deps.tickets) ticketRoutes(api, store, lifecycle, deps.tickets);
  if (deps.pools) poolRoutes(api, deps.pools);
  if (deps.tutorials) {
    tutorialRoutes(api, store, deps.tutorials);
    progressRoutes(api, store, deps.tutorials);
  }
  const document = openapiDocument(api, `${config.publicUrl}`, VERSION);

  const v1 = express.Router();
  v1.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  v1.use(express.json({ limit: config.MAX_LAB_BYTES * 2 }));
  v1.use(express.raw({ type: ['application/zip', 'application/octet-stream'], limit: config.MAX_LAB_BYTES }));
  v1.use(express.text({ type: ['application/yaml', 'application/x-yaml', 'text/yaml'], limit: config.MAX_LAB_BYTES }));
  v1.use(authenticate(store, [apiTokenAuthenticator(store), ...(deps.authenticators ?? [])]));
  v1.use(api.router);
  v1.use((req, _res, next) => next(new HttpError(404, `no API route ${req.method} ${loggableUrl(req.originalUrl)}`)));
  app.use('/api/v1', v1);

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500) req.log?.error({ err }, httpError.message);
    else req.log?.info({ status: httpError.status, msg: httpError.message }, 'request refused');
    res.status(httpError.status).json({
      error: { status: httpError.status, message: httpError.message, ...(httpError.details ?? {}) },
    });
  });
  return app;
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { status?: number; type?: string; message?: string };
  // body-parser's errors: malformed JSON, too large.
  if (e?.type === 'entity.parse.failed') return new HttpError(400, `the request body is not valid JSON: ${e.message}`);
  if (e?.type === 'entity.too.large') return new HttpError(413, 'the request body is too large');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
    return new HttpError(e.status, e.message ?? 'bad request');
  return new HttpError(500, 'internal error; the server log has the details', undefined, { cause: err });
}
