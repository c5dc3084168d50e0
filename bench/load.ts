/**
 * @file Benchmark (not a test): N simulated learners launch a small
 * one-container lab within a window on the local runtime, through the API of
 * a real server process (loopback only). Each learner polls its instance
 * until it runs, keeps it for a while, then stops it, so that with a global
 * quota below N the queue fills and drains. Prints launch-to-running
 * p50/p95/max (queue wait included), failures, how many waited and how far
 * back, and the server process's CPU and memory.
 *
 *   npx tsx bench/load.ts [--learners 40] [--window 60] [--quota 100] [--hold 10]
 *
 * Bounded: at most 200 learners, 300 s window, and it exits by itself after
 * 15 minutes whatever happens. Uses TEST_MONGODB_URI or starts FerretDB.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { newApiToken } from '../server/secrets.js';
import { LabCatalog } from '../server/services/labs.js';
import { Store } from '../server/store/store.js';
import { prepareLocalRuntime, REPO } from '../test/integration/local-runtime-setup.js';
import { testMongoUri } from '../test/support/server.js';

const { values } = parseArgs({
  options: {
    learners: { type: 'string', default: '40' },
    window: { type: 'string', default: '60' },
    quota: { type: 'string', default: '100' },
    hold: { type: 'string', default: '10' },
  },
});
const LEARNERS = Math.min(200, Number(values.learners));
const WINDOW_S = Math.min(300, Number(values.window));
const QUOTA = Number(values.quota);
const HOLD_S = Number(values.hold);
const POLL_MS = 1000;

setTimeout(() => {
  console.error('bench: 15 minutes are over; stopping');
  process.exit(3);
}, 900_000).unref();
const atExit: Array<() => void> = [];
process.on('exit', () => {
  for (const f of atExit) f();
});

const LAB = `name: load-lab
title: One small shell
limits: { ttl: 1h, idle: 1h }
systems:
  - name: box
    kind: container
    image: lab-orchestrator/shell
    resources: { cpu: 100m, memory: 32Mi }
`;

function database(): void {
  if (process.env.TEST_MONGODB_URI) return;
  const port = 27000 + Math.floor(Math.random() * 900);
  const dir = path.join(REPO, '.cache', 'bench-load-ferretdb');
  fs.rmSync(dir, { recursive: true, force: true });
  const pid = execFileSync(path.join(REPO, 'scripts/ferretdb.sh'), ['start', String(port), dir], { encoding: 'utf8' });
  atExit.push(() => process.kill(Number(pid.trim())));
  process.env.TEST_MONGODB_URI = `mongodb://127.0.0.1:${port}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
function processUsage(pid: number): { cpu: number; rss: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  const rssPages = Number(fields[21]);
  return { cpu: ticks / 100, rss: rssPages * 4096 };
}

interface Outcome {
  ok: boolean;
  launchToRunningMs?: number;
  maxQueuePosition: number;
  error?: string;
}

async function learner(url: string, token: string, delayMs: number): Promise<Outcome> {
  await new Promise((r) => setTimeout(r, delayMs));
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const started = performance.now();
  const res = await fetch(`${url}/api/v1/instances`, { method: 'POST', headers, body: '{"lab":"load-lab"}' });
  const body = (await res.json()) as {
    id?: string;
    state?: string;
    queuePosition?: number;
    error?: { message: string };
  };
  if (res.status !== 202 || !body.id)
    return { ok: false, maxQueuePosition: 0, error: `${res.status} ${body.error?.message}` };
  let maxQueuePosition = body.queuePosition ?? 0;
  for (;;) {
    const r = await fetch(`${url}/api/v1/instances/${body.id}`, { headers });
    const i = (await r.json()) as { state: string; reason?: string; queuePosition?: number };
    maxQueuePosition = Math.max(maxQueuePosition, i.queuePosition ?? 0);
    if (i.state === 'running') break;
    if (i.state === 'failed') return { ok: false, maxQueuePosition, error: i.reason ?? 'failed' };
    if (performance.now() - started > 600_000)
      return { ok: false, maxQueuePosition, error: 'not running after 10 min' };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const launchToRunningMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, HOLD_S * 1000));
  await fetch(`${url}/api/v1/instances/${body.id}/stop`, { method: 'POST', headers });
  return { ok: true, launchToRunningMs, maxQueuePosition };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  prepareLocalRuntime(['shell']);
  database();
  const uri = testMongoUri('lo-bench-load');
  const store = await Store.connect(uri);
  const admin = await store.users.upsert('local:admin', { name: 'admin', admin: true });
  await new LabCatalog(store).importBundle(
    { user: admin, memberships: [] },
    { files: new Map([['lab.yaml', Buffer.from(LAB)]]) },
    { asNewVersion: false },
  );
  const tokens: string[] = [];
  for (let n = 0; n < LEARNERS; n++) {
    const u = await store.users.upsert(`local:load-${n}`, { name: `learner ${n}` });
    const t = newApiToken();
    await store.tokens.create({ userId: u.id, name: 'bench', hash: t.hash, prefix: t.prefix });
    tokens.push(t.token);
  }

  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-bench-load-'));
  const scope = `bench-load-${process.pid}`;
  const server: ChildProcess = spawn('node', ['--import', 'tsx', 'server/main.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      MONGODB_URI: uri,
      PORT: String(port),
      DATA_DIR: dataDir,
      RUNTIME: 'local',
      RUNTIME_SCOPE: scope,
      QUOTA_INSTANCES: String(QUOTA),
      ADMISSION_INTERVAL: '1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  atExit.push(() => server.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok) break;
    if (i > 240) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 250));
  }

  const pid = server.pid!;
  const before = processUsage(pid);
  let peakRss = before.rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, processUsage(pid).rss);
  }, 500);
  const t0 = performance.now();
  console.log(
    `bench: ${LEARNERS} learners launch within ${WINDOW_S} s, global quota ${QUOTA}, each keeps the lab ${HOLD_S} s`,
  );
  const outcomes = await Promise.all(
    tokens.map((token, n) => learner(url, token, (n / Math.max(1, LEARNERS - 1)) * WINDOW_S * 1000)),
  );
  const wall = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const after = processUsage(pid);

  const times = outcomes.flatMap((o) => (o.launchToRunningMs === undefined ? [] : [o.launchToRunningMs]));
  times.sort((a, b) => a - b);
  const failures = outcomes.filter((o) => !o.ok);
  const queued = outcomes.filter((o) => o.maxQueuePosition > 0);
  const spread = (xs: number[]) =>
    xs.length ? `p50 ${s(pct(xs, 0.5))}, p95 ${s(pct(xs, 0.95))}, max ${s(xs.at(-1)!)} (${xs.length})` : 'none';
  const direct = outcomes
    .filter((o) => o.maxQueuePosition === 0 && o.launchToRunningMs !== undefined)
    .map((o) => o.launchToRunningMs!)
    .sort((a, b) => a - b);
  console.log(`launch → running, all: ${spread(times)}`);
  console.log(`launch → running, without waiting in the queue: ${spread(direct)}`);
  console.log(`failures: ${failures.length} of ${LEARNERS}${failures.length ? ` (${failures[0]!.error})` : ''}`);
  console.log(
    `queued: ${queued.length} learners waited; farthest back: ${Math.max(0, ...outcomes.map((o) => o.maxQueuePosition))}`,
  );
  console.log(
    `server: ${(((after.cpu - before.cpu) / wall) * 100).toFixed(1)} % of one core on average over ${wall.toFixed(0)} s, ` +
      `RSS ${(before.rss / 2 ** 20).toFixed(0)} → peak ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );

  // Clean up: wait for every stop, then remove whatever is left in this scope.
  for (let i = 0; i < 240; i++) {
    const active = await store.instances.list({ states: ['requested', 'provisioning', 'running', 'stopping'] });
    if (active.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  const left = execFileSync('podman', ['ps', '-aq', '--filter', `label=lab-orchestrator.scope=${scope}`], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  if (left.length) execFileSync('podman', ['rm', '-f', ...left]);
  await store.dropDatabase();
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
