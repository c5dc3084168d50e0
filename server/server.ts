/**
 * @file The composition root: connects the store, picks the runtime, builds
 * the app, starts the jobs and listens. Used by main.ts and by the tests,
 * which start a real server on a free port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { ltijsEncryptionKey } from '../lti/ltijs.js';
import { LtiTool } from '../lti/tool.js';
import { createApp } from './app.js';
import { serveClient } from './client-files.js';
import type { Config } from './config.js';
import { parseMemory } from './domain/limits.js';
import { Gateway } from './gateway/gateway.js';
import { TicketBook } from './gateway/tickets.js';
import { Admission } from './jobs/admission.js';
import { BackgroundChecks } from './jobs/background-checks.js';
import { GradeOutboxJob, GradeOutboxListener } from './jobs/grade-outbox.js';
import { type LabPreparation, labPreparationFor } from './jobs/lab-preparation.js';
import { Leadership } from './jobs/leadership.js';
import { PoolKeeper } from './jobs/pools.js';
import { Reaper } from './jobs/reaper.js';
import { Reconciler } from './jobs/reconciler.js';
import { createLogger, type Logger } from './log.js';
import { createRuntime } from './runtime/create.js';
import type { Runtime } from './runtime/runtime.js';
import { loadSecretKey, SecretBox } from './secrets.js';
import { InstanceLifecycle } from './services/instances.js';
import type { LimitSettings } from './services/limits.js';
import { WarmPools } from './services/pools.js';
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
  reaper?: Reaper;
  admission?: Admission;
  /** Warm pools of pre-started instances, and their job (on the leader). */
  pools: WarmPools;
  poolKeeper?: PoolKeeper;
  /** Prepares labs ahead of their first launch (on the leader), when the runtime can. */
  labPreparation?: LabPreparation;
  /** Which background jobs this replica leads. */
  leadership: Leadership;
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
  opts: { log?: Logger; runtime?: Runtime | null; reconcile?: boolean; lti?: boolean; gatewayPingMs?: number } = {},
): Promise<ServerHandle> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const store = await Store.connect(config.MONGODB_URI);
  const secretKey = loadSecretKey(config.SECRET_KEY, config.dataDir);
  const secrets = new SecretBox(secretKey);
  const runtime = opts.runtime === null ? undefined : (opts.runtime ?? (await createRuntime(config, log)));
  const lifecycle = new InstanceLifecycle(store, runtime, secrets, log, limitSettings(config));
  const leadership = new Leadership(store.leases, log, config.LEASE_TTL);
  const labPreparation = labPreparationFor(runtime, store.labs, log);
  const pools = new WarmPools(store, lifecycle, runtime, secrets, log);
  lifecycle.usePools(pools);
  const tickets = new TicketBook({ store: store.tickets });
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
    pools,
    onLabImported: () => {
      if (leadership.holds('lab-preparation')) labPreparation?.wake();
    },
    mount: (a) => {
      lti?.mount(a);
      serveClient(a);
    },
  });
  const origins = [config.publicUrl, ...(config.GATEWAY_ORIGINS?.split(',').map((u) => u.trim()) ?? [])];
  const gateway = new Gateway({
    store,
    runtime,
    tickets,
    log,
    origins,
    ...(opts.gatewayPingMs ? { pingIntervalMs: opts.gatewayPingMs } : {}),
  });

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

  // Every background job runs on the replica that holds its lease (jobs/leadership.ts).
  let reconciler: Reconciler | undefined;
  let reaper: Reaper | undefined;
  let admission: Admission | undefined;
  let poolKeeper: PoolKeeper | undefined;
  if (runtime) {
    admission = new Admission(store, lifecycle, log, config.ADMISSION_INTERVAL, () => leadership.holds('admission'));
    lifecycle.useAdmission(admission);
    leadership.guard('admission', admission);
    reaper = new Reaper(store, lifecycle, log, config.REAPER_INTERVAL, config.LIMIT_WARNING, config.LIMIT_MAX_PAUSED);
    leadership.guard('reaper', reaper);
    const keeper = new PoolKeeper(pools, log, config.ADMISSION_INTERVAL);
    poolKeeper = keeper;
    pools.wakeJob = () => {
      if (leadership.holds('pools')) keeper.wake();
    };
    leadership.guard('pools', keeper);
  }
  if (labPreparation) leadership.guard('lab-preparation', labPreparation);
  if (runtime && opts.reconcile !== false) {
    const r = new Reconciler(store, lifecycle, runtime, log);
    reconciler = r;
    leadership.guard('reconciler', { start: () => r.start(config.RECONCILE_INTERVAL), stop: () => r.stop() });
  }
  let gradeJob: GradeOutboxJob | undefined;
  if (lti) {
    gradeJob = new GradeOutboxJob(store, lti.scoreSender, log, {
      intervalSeconds: config.GRADE_OUTBOX_INTERVAL,
      retryMaxSeconds: config.GRADE_RETRY_MAX,
      leaseSeconds: config.GRADE_LEASE,
    });
    const g = gradeJob;
    leadership.guard('grade-outbox', { start: () => g.start(), stop: () => g.stop() });
  }
  const gradeListener = new GradeOutboxListener(store, () => {
    if (leadership.holds('grade-outbox')) gradeJob?.wake();
  });
  await leadership.renew(); // a lone server leads before its first request
  progress.register(gradeListener);
  const backgroundChecks = new BackgroundChecks(tutorials, log);
  backgroundChecks.start();
  log.info({ url, runtime: lifecycle.runtimeName }, 'lab orchestrator listening');

  return {
    url,
    http: server,
    gateway,
    store,
    lifecycle,
    ...(runtime ? { runtime } : {}),
    ...(reconciler ? { reconciler } : {}),
    ...(reaper ? { reaper } : {}),
    ...(admission ? { admission } : {}),
    pools,
    ...(poolKeeper ? { poolKeeper } : {}),
    ...(labPreparation ? { labPreparation } : {}),
    leadership,
    ...(lti ? { lti } : {}),
    tutorials,
    progress,
    grades: { listener: gradeListener, ...(gradeJob ? { job: gradeJob } : {}) },
    log,
    async close() {
      await leadership.close();
      await backgroundChecks.stop();
      gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await lifecycle.settleAll();
      await labPreparation?.settle();
      await runtime?.close();
      await lti?.close();
      await store.close();
    },
  };
}

/** Quotas from the configuration; CPU and memory default to what this machine has (CPU overcommitted 4×). */
export function limitSettings(config: Config): LimitSettings {
  return {
    capacity: {
      instances: config.QUOTA_INSTANCES,
      cpu: Math.round((config.QUOTA_CPU ?? os.cpus().length * 4) * 1000),
      memory: config.QUOTA_MEMORY === undefined ? Math.floor(os.totalmem() * 0.75) : parseMemory(config.QUOTA_MEMORY),
      perCourse: config.QUOTA_COURSE_INSTANCES,
    },
    queueMax: config.QUEUE_MAX,
    defaultExtensions: config.LIMIT_EXTENSIONS,
    defaultMaxPaused: config.LIMIT_MAX_PAUSED,
  };
}
