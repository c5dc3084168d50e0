/**
 * @file The composition root: connects the store, picks the runtime, builds
 * the app, starts the jobs and listens. Used by main.ts and by the tests,
 * which start a real server on a free port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ltijsEncryptionKey } from '../lti/ltijs.js';
import { LtiTool } from '../lti/tool.js';
import { createApp } from './app.js';
import { serveClient } from './client-files.js';
import type { Config } from './config.js';
import { Gateway } from './gateway/gateway.js';
import { TicketBook } from './gateway/tickets.js';
import { BackgroundChecks } from './jobs/background-checks.js';
import { GradeOutboxJob, GradeOutboxListener } from './jobs/grade-outbox.js';
import { Reconciler } from './jobs/reconciler.js';
import { createLogger, type Logger } from './log.js';
import { createRuntime } from './runtime/create.js';
import type { Runtime } from './runtime/runtime.js';
import { loadSecretKey, SecretBox } from './secrets.js';
import { InstanceLifecycle } from './services/instances.js';
import { ProgressEvents } from './services/progress-events.js';
import { TutorialService } from './services/tutorials.js';
import { Store } from './store/store.js';

export interface ServerHandle {
  url: string;
  http: http.Server;
  gateway: Gateway;
  store: Store;
  lifecycle: InstanceLifecycle;
  runtime?: Runtime;
  reconciler?: Reconciler;
  /** The LTI tool (unless started with lti: false). */
  lti?: LtiTool;
  /** Tutorials and progress; `progress.register(listener)` adds a ProgressListener. */
  tutorials: TutorialService;
  progress: ProgressEvents;
  /** Where progress events go (the tutorial service's ProgressListener). */
  grades: { listener: GradeOutboxListener; job?: GradeOutboxJob };
  log: Logger;
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  opts: { log?: Logger; runtime?: Runtime | null; reconcile?: boolean; lti?: boolean } = {},
): Promise<ServerHandle> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const store = await Store.connect(config.MONGODB_URI);
  const secretKey = loadSecretKey(config.SECRET_KEY, config.dataDir);
  const secrets = new SecretBox(secretKey);
  const runtime = opts.runtime === null ? undefined : (opts.runtime ?? (await createRuntime(config, log)));
  const lifecycle = new InstanceLifecycle(store, runtime, secrets, log);
  const tickets = new TicketBook();
  const progress = new ProgressEvents(log);
  const tutorials = new TutorialService({
    store,
    lifecycle,
    runtime,
    secrets,
    events: progress,
    secretKey,
    log,
  });
  lifecycle.onReset = (instance) => tutorials.afterReset(instance);
  let url = config.publicUrl;
  const lti =
    opts.lti === false
      ? undefined
      : await LtiTool.start({
          store,
          lifecycle,
          log,
          publicUrl: () => url,
          mongodbUri: config.MONGODB_URI,
          encryptionKey: ltijsEncryptionKey(secretKey),
          tokenMaxAge: config.LTI_TOKEN_MAX_AGE,
          autoActivate: config.LTI_AUTO_ACTIVATE,
        });
  const app = createApp({
    config,
    log,
    store,
    lifecycle,
    secrets,
    tickets,
    tutorials,
    mount: (a) => {
      lti?.mount(a);
      serveClient(a);
    },
  });
  const origins = [config.publicUrl, ...(config.GATEWAY_ORIGINS?.split(',').map((u) => u.trim()) ?? [])];
  const gateway = new Gateway({ store, runtime, tickets, log, origins });

  // The gateway answers /gateway/... itself (before the app and its request log: ticket URLs).
  const server = http.createServer((req, res) => {
    if (!gateway.handleRequest(req, res)) app(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    if (!gateway.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = config.PORT === 0 ? `http://${config.HOST}:${port}` : config.publicUrl;
  gateway.origins.allow(url);

  let reconciler: Reconciler | undefined;
  if (runtime && opts.reconcile !== false) {
    reconciler = new Reconciler(store, lifecycle, runtime, log);
    reconciler.start(config.RECONCILE_INTERVAL);
  }
  let gradeJob: GradeOutboxJob | undefined;
  if (lti) {
    gradeJob = new GradeOutboxJob(store, lti.scoreSender, log, {
      intervalSeconds: config.GRADE_OUTBOX_INTERVAL,
      retryMaxSeconds: config.GRADE_RETRY_MAX,
      leaseSeconds: config.GRADE_LEASE,
    });
    gradeJob.start();
  }
  const gradeListener = new GradeOutboxListener(store, () => gradeJob?.wake());
  progress.register(gradeListener);
  const backgroundChecks = new BackgroundChecks(tutorials, log);
  if (runtime) backgroundChecks.start();
  log.info({ url, runtime: lifecycle.runtimeName }, 'lab orchestrator listening');

  return {
    url,
    http: server,
    gateway,
    store,
    lifecycle,
    ...(runtime ? { runtime } : {}),
    ...(reconciler ? { reconciler } : {}),
    ...(lti ? { lti } : {}),
    tutorials,
    progress,
    grades: { listener: gradeListener, ...(gradeJob ? { job: gradeJob } : {}) },
    log,
    async close() {
      await reconciler?.stop();
      await gradeJob?.stop();
      await backgroundChecks.stop();
      gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await lifecycle.settleAll();
      await runtime?.close();
      await lti?.close();
      await store.close();
    },
  };
}
