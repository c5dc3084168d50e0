/**
 * @file Benchmark: a lab VM from nothing to a usable shell (create returns,
 * then one exec answers), three ways, alternating in one run so all see the
 * same load:
 *   raw    QEMU booting the image with the driver's command line (overlay
 *          made in the timing; seed and tap before it; no driver);
 *   cold   the driver booting the image (seed, tap, overlay, QEMU, agent);
 *   saved  the driver starting from the image's saved state (fresh overlay,
 *          -incoming, identity through the agent); the template is built
 *          once before the runs (warmUp), its time printed apart.
 * Prints p50/p95 of each and the ratios. Needs root (tap, bridge).
 *
 *   npx tsx bench/local-vm.ts [tiny-vm|debian-vm] [runs=10] [raw,cold,saved]
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { systemSchema } from '../server/domain/lab/schema.js';
import { GuestAgent } from '../server/runtime/local/vm/guest-agent.js';
import { files, qemuArgs } from '../server/runtime/local/vm/qemu-args.js';
import { QemuVmDriver } from '../server/runtime/local/vm/qemu-driver.js';
import { resolveImage } from '../server/runtime/local/vm/vm-image.js';
import { pathsOf } from '../server/runtime/local/vm/vm-state.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const imageName = process.argv[2] ?? 'tiny-vm';
const runs = Number(process.argv[3] ?? 10);
const modes = new Set((process.argv[4] ?? 'raw,cold,saved').split(','));
const imagesDir = path.join(REPO, '.cache/images/vm');

execFileSync(path.join(REPO, 'deploy/images/vm/build.sh'), [imageName], { stdio: 'inherit' });
const work = await mkdtemp(path.join(os.tmpdir(), 'lab-vm-bench-'));
const bridge = `lvb${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
execFileSync('ip', ['link', 'set', bridge, 'up']);
const rawTap = `lvr${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['tuntap', 'add', 'dev', rawTap, 'mode', 'tap']);
execFileSync('ip', ['link', 'set', 'dev', rawTap, 'master', bridge, 'up']);

const driverOptions = {
  imagesDir,
  stateDir: path.join(work, 'state'),
  socketDir: path.join(work, 's'),
  templatesDir: path.join(work, 'templates'),
  powerdownTimeout: 2,
  // debian-vm under TCG on a loaded machine needed more than the default 300 s.
  bootTimeout: 900,
};
const driver = new QemuVmDriver({ ...driverOptions, savedState: false });
const savedDriver = new QemuVmDriver({ ...driverOptions, savedState: true });
const image = await resolveImage(imagesDir, `lab-orchestrator/${imageName}`);
const accel = await driver.accelerator(image.kernel);
const net = { bridge, address: '10.214.0.10/24', hosts: { server: '10.214.0.10' } };
const definition = systemSchema.parse({ name: 'server', kind: 'vm', image: `lab-orchestrator/${imageName}` });
const system = { definition, credentials: { user: 'student', password: 'bench-pw' } };

// The raw boot gets a seed too (made once, outside the timing): without one cloud-init waits for DHCP.
execFileSync('sh', [
  '-c',
  `cd ${work} && printf '#cloud-config\\nhostname: server\\n' > ud && printf 'instance-id: raw\\n' > md && cloud-localds seed.img ud md`,
]);

/** Agent answers, and the image's readyProbe passes: what the driver calls ready. */
async function agentReady(socket: string): Promise<void> {
  const agent = new GuestAgent(socket);
  for (;;) {
    if (await agent.ping(1500)) {
      if (!image.readyProbe) return;
      if ((await agent.exec(image.readyProbe, { timeout: 10 }).catch(() => undefined))?.exitCode === 0) return;
    }
    await sleep(300);
  }
}

async function rawBoot(i: number): Promise<number> {
  const dir = path.join(work, `raw${i}`);
  await mkdir(dir, { recursive: true });
  await copyFile(path.join(work, 'seed.img'), path.join(dir, 'seed.img'));
  // The very command line the driver builds (same devices: VGA/VNC, NIC on the bridge, seed, agent),
  // in the foreground, without the driver's seed, tap, state folder and readiness bookkeeping.
  const args = qemuArgs({
    name: `raw${i}`,
    paths: { state: dir, sockets: dir },
    accel: accel.accel,
    memoryMiB: Math.max(256, image.minMemoryMiB),
    cpus: 1,
    kernel: image.kernel,
    initrd: image.initrd,
    append: `${image.append} lab.hostname=server lab.address=10.214.0.20/24`,
    tap: rawTap,
    mac: '52:54:00:00:00:20',
  }).filter((arg, j, all) => arg !== '-daemonize' && arg !== '-pidfile' && all[j - 1] !== '-pidfile');
  const started = performance.now();
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image.disk, '-F', 'qcow2', `${dir}/disk.qcow2`]);
  const qemu = spawn('qemu-system-x86_64', args, { stdio: 'ignore' });
  await agentReady(files({ state: dir, sockets: dir }).agent);
  const ms = performance.now() - started;
  qemu.kill('SIGKILL');
  await new Promise((resolve) => qemu.once('exit', resolve));
  await rm(dir, { recursive: true, force: true });
  return ms;
}

/**
 * CPU seconds QEMU used so far (user + system, all its threads): what a
 * start costs regardless of how loaded the machine is.
 */
async function qemuCpu(d: QemuVmDriver, id: string): Promise<number> {
  const pid = (await readFile(files(pathsOf(d.stateDir, d.socketDir, id, 'server')).pid, 'utf8')).trim();
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
}

/** create, then one exec: the VM is usable. */
async function driverStart(d: QemuVmDriver, id: string, mode: 'cold' | 'saved'): Promise<number> {
  const started = performance.now();
  await d.create(id, system, net);
  const hostname = await d.exec(id, 'server', ['hostname']);
  const ms = performance.now() - started;
  if (hostname.stdout.trim() !== 'server') throw new Error(`${id}: hostname is "${hostname.stdout.trim()}"`);
  cpu[mode].push(await qemuCpu(d, id));
  await d.destroy(id);
  return ms;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

const results: Record<string, number[]> = { raw: [], cold: [], saved: [] };
const cpu: Record<'cold' | 'saved', number[]> = { cold: [], saved: [] };
const s = (ms: number | undefined) => `${((ms ?? Number.NaN) / 1000).toFixed(2)} s`;
try {
  console.log(`${imageName}: ${runs} runs of ${[...modes].join(', ')}; accelerator: ${accel.reason}`);
  console.log(
    `load average at the start: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${os.cpus().length} cores)`,
  );
  if (modes.has('saved')) {
    const started = performance.now();
    await savedDriver.warmUp(system);
    console.log(`saved state built (cold boot + save, once) in ${s(performance.now() - started)}`);
  }
  for (let i = 0; i < runs; i++) {
    if (modes.has('raw')) results.raw?.push(await rawBoot(i));
    if (modes.has('cold')) results.cold?.push(await driverStart(driver, `benchc${i}`, 'cold'));
    if (modes.has('saved')) results.saved?.push(await driverStart(savedDriver, `benchs${i}`, 'saved'));
    console.log(`run ${i + 1}: ${[...modes].map((m) => `${m} ${s(results[m]?.[i])}`).join(', ')}`);
  }
  for (const m of modes) {
    const xs = results[m] ?? [];
    const used = cpu[m as 'cold' | 'saved'] ?? [];
    const cpuLine = used.length ? `   QEMU CPU until usable p50 ${pct(used, 50).toFixed(2)} s` : '';
    console.log(`${m.padEnd(6)} p50 ${s(pct(xs, 50))}   p95 ${s(pct(xs, 95))}${cpuLine}`);
  }
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${os.cpus().length} cores)`,
  );
  const ratio = (a: string, b: string) => {
    const [x, y] = [results[a] ?? [], results[b] ?? []];
    if (x.length && y.length)
      console.log(
        `ratio ${a}/${b}: p50 ${(pct(x, 50) / pct(y, 50)).toFixed(2)}x, p95 ${(pct(x, 95) / pct(y, 95)).toFixed(2)}x`,
      );
  };
  ratio('cold', 'raw');
  ratio('cold', 'saved');
} finally {
  for (let i = 0; i < runs; i++) {
    await driver.destroy(`benchc${i}`).catch(() => {});
    await savedDriver.destroy(`benchs${i}`).catch(() => {});
  }
  execFileSync('ip', ['link', 'delete', rawTap]);
  execFileSync('ip', ['link', 'delete', bridge]);
  await rm(work, { recursive: true, force: true });
}
