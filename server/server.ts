/**
 * @file The composition root: connects the store, picks the runtime, builds
 * the app, starts the jobs and listens. Used by main.ts and by the tests,
 * which start a real server on a free port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { Reconciler } from './jobs/reconciler.js';
import { createLogger, type Logger } from './log.js';
import { createRuntime } from './runtime/create.js';
import type { Runtime } from './runtime/runtime.js';
import { loadSecretKey, SecretBox } from './secrets.js';
import { InstanceLifecycle } from './services/instances.js';
import { Store } from './store/store.js';

export interface ServerHandle {
  url: string;
  http: http.Server;
  store: Store;
  lifecycle: InstanceLifecycle;
  runtime?: Runtime;
  reconciler?: Reconciler;
  log: Logger;
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  opts: { log?: Logger; runtime?: Runtime | null; reconcile?: boolean } = {},
): Promise<ServerHandle> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const store = await Store.connect(config.MONGODB_URI);
  const secrets = new SecretBox(loadSecretKey(config.SECRET_KEY, config.dataDir));
  const runtime = opts.runtime === null ? undefined : (opts.runtime ?? (await createRuntime(config, log)));
  const lifecycle = new InstanceLifecycle(store, runtime, secrets, log);
  const app = createApp({ config, log, store, lifecycle, secrets });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = config.PORT === 0 ? `http://${config.HOST}:${port}` : config.publicUrl;

  let reconciler: Reconciler | undefined;
  if (runtime && opts.reconcile !== false) {
    reconciler = new Reconciler(store, lifecycle, runtime, log);
    reconciler.start(config.RECONCILE_INTERVAL);
  }
  log.info({ url, runtime: lifecycle.runtimeName }, 'lab orchestrator listening');

  return {
    url,
    http: server,
    store,
    lifecycle,
    ...(runtime ? { runtime } : {}),
    ...(reconciler ? { reconciler } : {}),
    log,
    async close() {
      await reconciler?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await lifecycle.settleAll();
      await runtime?.close();
      await store.close();
    },
  };
}
