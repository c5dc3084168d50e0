/**
 * @file Benchmark (not a test): time from `provision` of a 3-container lab to
 * a usable shell in every system (an `exec` answers), against doing the same
 * by hand with the podman CLI in the same run: three `podman run -d` of the
 * same image in parallel, each followed by `podman exec ... true`.
 *
 *   npx tsx bench/local-containers.ts [runs=10]
 *
 * Starts Podman's API socket and builds the shell image itself when needed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { labSchema } from '../server/domain/lab/schema.js';
import { LocalRuntime } from '../server/runtime/local/local-runtime.js';
import type { InstanceSpec } from '../server/runtime/runtime.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const IMAGE = 'lab-orchestrator/shell';
const RUNS = Number(process.argv[2] ?? 10);

function prepare(): void {
  const exports = execFileSync(`${REPO}scripts/podman-service.sh`, ['start'], { encoding: 'utf8' });
  for (const m of exports.matchAll(/^export (\w+)=(.*)$/gm)) if (m[1] && m[2]) process.env[m[1]] = m[2];
  execFileSync(`${REPO}deploy/images/build.sh`, ['shell'], { stdio: ['ignore', 'inherit', 'inherit'] });
}

function labSpec(id: string): InstanceSpec {
  const definition = labSchema.parse({
    name: 'bench-three',
    title: 'Three shells',
    systems: ['a', 'b', 'c'].map((name) => ({ name, kind: 'container', image: IMAGE })),
  });
  return {
    id,
    owner: 'bench',
    lab: { name: definition.name, version: 1, definition },
    systems: definition.systems.map((d) => ({ definition: d })),
  };
}

async function timeRuntime(runtime: LocalRuntime, i: number): Promise<number> {
  const spec = labSpec(`bench-${randomBytes(3).toString('hex')}-${i}`);
  const start = performance.now();
  await runtime.provision(spec);
  await Promise.all(
    spec.systems.map(async (s) => {
      const r = await runtime.exec(spec.id, s.definition.name, ['true']);
      if (r.exitCode !== 0) throw new Error(`exec in ${s.definition.name} failed`);
    }),
  );
  const ms = performance.now() - start;
  await runtime.destroy(spec.id);
  return ms;
}

async function timeRaw(i: number): Promise<number> {
  const names = ['a', 'b', 'c'].map((n) => `bench-raw-${randomBytes(3).toString('hex')}-${i}-${n}`);
  const start = performance.now();
  await Promise.all(
    names.map(async (name) => {
      await run('podman', ['run', '-d', '--name', name, IMAGE]);
      await run('podman', ['exec', name, 'true']);
    }),
  );
  const ms = performance.now() - start;
  await run('podman', ['rm', '-f', '-t', '0', ...names]);
  return ms;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  prepare();
  const runtime = new LocalRuntime({ scope: 'bench' });
  // One warm-up of each, not counted: first use of the image and the network code.
  await timeRuntime(runtime, -1);
  await timeRaw(-1);
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await timeRuntime(runtime, i));
    raw.push(await timeRaw(i));
  }
  const row = (label: string, v: number[]) =>
    `${label.padEnd(44)} p50 ${percentile(v, 50).toFixed(0).padStart(6)} ms   p95 ${percentile(v, 95).toFixed(0).padStart(6)} ms`;
  console.log(`3 containers of ${IMAGE}, ${RUNS} runs each, interleaved`);
  console.log(row('LocalRuntime provision → exec answers in all', ours));
  console.log(row('raw podman run -d ×3 → podman exec answers', raw));
  console.log(
    `ratio (runtime / raw): p50 ${(percentile(ours, 50) / percentile(raw, 50)).toFixed(2)}×, ` +
      `p95 ${(percentile(ours, 95) / percentile(raw, 95)).toFixed(2)}×`,
  );
  await runtime.close();
}

await main();
