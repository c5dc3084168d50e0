/**
 * @file Benchmark (not a test): the kubernetes runtime against the real API
 * server of the tests (scripts/k8s-control-plane.sh: etcd, kube-apiserver with
 * RBAC and KubeVirt's CRDs, kube-controller-manager; no kubelet, no KubeVirt).
 *
 *   node --expose-gc --import tsx bench/kubernetes.ts [instances=1000] [concurrency=20]
 *
 * 1. Provisioning: `instances` instances of labs/vm-and-container through
 *    KubernetesRuntime.provision, `concurrency` at a time. The tool puts no
 *    bound of its own on provisioning (each admitted launch is scheduled at
 *    once; the admission quota, QUOTA_INSTANCES, decides how many): the
 *    concurrency stands for the launches in flight at once. Latency is the
 *    provision call: from the call until the API server has accepted every
 *    object of the instance (namespace, network policies, quota, limit range,
 *    services, pod, VirtualMachine). It does not cover a pod or VM running:
 *    that needs a kubelet and KubeVirt's controllers, which do not run here.
 * 2. Memory: a fresh process (as the tool after a restart) whose runtime's
 *    informers list and watch every instance's namespace, pods and
 *    VirtualMachines; its heap and RSS before and after, after a GC when
 *    --expose-gc is given (the child gets the same node flags).
 * 3. Clean-up: every instance destroyed (its namespace deleted), then waited
 *    for until the namespace controller has removed them.
 *
 * Measured 2026-11-25, 1000 instances, 20 at a time, on the shared 2-core
 * machine (load average ~20: the API server, etcd and this process shared the
 * cores with other work): 100 objects/s, 543 instances/min, provision p50
 * 1964 ms, p95 4098 ms; before api-clients.ts (a TLS connection per call) 37
 * objects/s, 199 instances/min, p50 5427 ms, p95 12100 ms. Watching the 1000
 * instances: +15.2 MiB of heap (15.6 KiB each), RSS 212 → 231 MiB; first sync
 * 1.2 s. Namespaces removed by the namespace controller about 6 min after the
 * deletes.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { readLabFolder } from '../server/domain/lab/bundle.js';
import { parseLab } from '../server/domain/lab/parse.js';
import type { LabDefinition } from '../server/domain/lab/schema.js';
import { buildInstanceManifests, manifestList } from '../server/runtime/kubernetes/manifests.js';
import { KubernetesRuntime } from '../server/runtime/kubernetes/runtime.js';
import type { InstanceSpec } from '../server/runtime/runtime.js';
import { kubectl, REPO, startControlPlane } from '../test/integration/kubernetes-control-plane.js';

const INSTANCES = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.argv[3] ?? 20);
/** `watch RUN`: the child process of step 2. */
const WATCH_RUN = process.argv[2] === 'watch' ? process.argv[3] : undefined;
const LAB_FOLDER = 'labs/vm-and-container';
const RUN = Date.now().toString(36);

async function exampleLab(): Promise<LabDefinition> {
  const read = await readLabFolder(path.join(REPO, LAB_FOLDER));
  if (!read.ok) throw new Error(`${LAB_FOLDER}: ${JSON.stringify(read.problems)}`);
  const parsed = parseLab(read.bundle);
  if (!parsed.ok) throw new Error(`${LAB_FOLDER}: ${JSON.stringify(parsed.problems)}`);
  return parsed.lab;
}

function instanceSpec(lab: LabDefinition, i: number): InstanceSpec {
  return {
    id: `b-${RUN}-${i}`,
    owner: `learner-${i}@example.org`,
    lab: { name: lab.name, version: 1, definition: lab },
    systems: lab.systems.map((definition) => ({
      definition,
      ...(definition.user ? { credentials: { user: definition.user.name, password: `pw-${i}` } } : {}),
    })),
  };
}

/** Runs `job` on every item, at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await job(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function memory(): { heapMiB: number; rssMiB: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heapMiB: m.heapUsed / 2 ** 20, rssMiB: m.rss / 2 ** 20 };
}

async function waitFor(what: string, check: () => Promise<boolean>, seconds: number): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > seconds * 1000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return (performance.now() - start) / 1000;
}

interface WatchFigures {
  listed: number;
  syncSeconds: number;
  sample: string;
  before: { heapMiB: number; rssMiB: number };
  after: { heapMiB: number; rssMiB: number };
}

/** Step 2 in a fresh process, so its memory is the watching alone. */
async function watchInChild(): Promise<WatchFigures> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), 'watch', RUN],
    { maxBuffer: 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as WatchFigures;
}

async function watchOnly(run: string, kubeConfig: KubeConfig): Promise<void> {
  const before = memory();
  const runtime = new KubernetesRuntime({ kubeConfig, onError: (err, what) => console.error(`${what}: ${err}`) });
  const start = performance.now();
  const ids = (await runtime.list()).filter((id) => id.startsWith(`b-${run}-`));
  const syncSeconds = (performance.now() - start) / 1000;
  const status = await runtime.status(ids[0] as string);
  const after = memory();
  const sample = status.systems.map((s) => `${s.name} ${s.phase}`).join(', ');
  console.log(JSON.stringify({ listed: ids.length, syncSeconds, sample, before, after } satisfies WatchFigures));
  await runtime.close();
}

async function main(): Promise<void> {
  const file = await startControlPlane();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(file);
  if (WATCH_RUN) return watchOnly(WATCH_RUN, kubeConfig);
  const lab = await exampleLab();
  const specs = Array.from({ length: INSTANCES }, (_, i) => instanceSpec(lab, i));
  const objectsPerInstance = manifestList(buildInstanceManifests(specs[0] as InstanceSpec)).length;
  const kinds = manifestList(buildInstanceManifests(specs[0] as InstanceSpec)).map((o) => o.kind);
  const gcNote = (globalThis as { gc?: unknown }).gc ? 'after GC' : 'no --expose-gc: without GC, rough';

  const provisioner = new KubernetesRuntime({ kubeConfig });
  const latencies: number[] = [];
  const started = performance.now();
  await pool(specs, CONCURRENCY, async (spec) => {
    const t = performance.now();
    await provisioner.provision(spec);
    latencies.push(performance.now() - t);
  });
  const seconds = (performance.now() - started) / 1000;

  console.log(`lab ${LAB_FOLDER}: ${objectsPerInstance} objects per instance (${kinds.join(', ')})`);
  console.log(`provisioned ${INSTANCES} instances, ${CONCURRENCY} at a time, in ${seconds.toFixed(1)} s`);
  console.log(`  objects created per second   ${((INSTANCES * objectsPerInstance) / seconds).toFixed(0)}`);
  console.log(`  instances per minute         ${((INSTANCES / seconds) * 60).toFixed(0)}`);
  console.log(
    `  provision latency            p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms` +
      ' (call → every object accepted by the API server; not running: no kubelet, no KubeVirt here)',
  );

  const w = await watchInChild();
  console.log(`watching ${w.listed} instances (namespaces, pods, VirtualMachines) in a fresh process`);
  console.log(`  first sync (list + watch of all three) ${w.syncSeconds.toFixed(1)} s`);
  console.log(`  one instance's status from the cache: ${w.sample}`);
  console.log(
    `  heap ${w.before.heapMiB.toFixed(1)} → ${w.after.heapMiB.toFixed(1)} MiB (+${(w.after.heapMiB - w.before.heapMiB).toFixed(1)}), ` +
      `RSS ${w.before.rssMiB.toFixed(1)} → ${w.after.rssMiB.toFixed(1)} MiB (${gcNote})`,
  );
  console.log(
    `  per instance: ${(((w.after.heapMiB - w.before.heapMiB) * 1024) / Math.max(1, w.listed)).toFixed(1)} KiB of heap`,
  );

  const destroyStart = performance.now();
  await pool(specs, CONCURRENCY, (spec) => provisioner.destroy(spec.id));
  const destroySeconds = (performance.now() - destroyStart) / 1000;
  await provisioner.close();
  const goneSeconds = await waitFor(
    'the namespace controller to remove every instance namespace',
    async () => {
      const { stdout } = await kubectl(file, ['get', 'namespaces', '-o', 'name']);
      return !stdout.includes(`namespace/lab-b-${RUN}-`);
    },
    1800,
  );
  console.log(
    `destroyed ${INSTANCES} instances: delete calls ${destroySeconds.toFixed(1)} s, ` +
      `namespaces removed by the controller ${goneSeconds.toFixed(0)} s later`,
  );
}

await main();
