/**
 * @file Benchmark: cold boot to exec-ready of a lab VM through the QEMU
 * driver (seed, tap, overlay, QEMU, guest agent answers) next to a raw QEMU
 * boot of the same image with the same QEMU command line (overlay made in
 * the timing; seed and tap made before it; no driver), alternating in one run so both see the same load.
 * Prints p50/p95 and the ratio. Needs root (tap, bridge).
 *
 *   npx tsx bench/local-vm.ts [tiny-vm|debian-vm] [runs=10]
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { systemSchema } from '../server/domain/lab/schema.js';
import { GuestAgent } from '../server/runtime/local/vm/guest-agent.js';
import { files, qemuArgs } from '../server/runtime/local/vm/qemu-args.js';
import { QemuVmDriver } from '../server/runtime/local/vm/qemu-driver.js';
import { resolveImage } from '../server/runtime/local/vm/vm-image.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const imageName = process.argv[2] ?? 'tiny-vm';
const runs = Number(process.argv[3] ?? 10);
const imagesDir = path.join(REPO, '.cache/images/vm');

execFileSync(path.join(REPO, 'deploy/images/vm/build.sh'), [imageName], { stdio: 'inherit' });
const work = await mkdtemp(path.join(os.tmpdir(), 'lab-vm-bench-'));
const bridge = `lvb${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
execFileSync('ip', ['link', 'set', bridge, 'up']);
const rawTap = `lvr${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['tuntap', 'add', 'dev', rawTap, 'mode', 'tap']);
execFileSync('ip', ['link', 'set', 'dev', rawTap, 'master', bridge, 'up']);

const driver = new QemuVmDriver({
  imagesDir,
  stateDir: path.join(work, 'state'),
  socketDir: path.join(work, 's'),
  powerdownTimeout: 2,
  // debian-vm under TCG on a loaded machine needed more than the default 300 s.
  bootTimeout: 900,
});
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

async function driverBoot(i: number): Promise<number> {
  const id = `bench${i}`;
  const started = performance.now();
  await driver.create(id, system, net);
  const ms = performance.now() - started;
  await driver.destroy(id);
  return ms;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

const raw: number[] = [];
const viaDriver: number[] = [];
try {
  console.log(`${imageName}: ${runs} runs each, accelerator: ${accel.reason}`);
  for (let i = 0; i < runs; i++) {
    raw.push(await rawBoot(i));
    viaDriver.push(await driverBoot(i));
    console.log(`run ${i + 1}: raw ${(raw[i]! / 1000).toFixed(2)} s, driver ${(viaDriver[i]! / 1000).toFixed(2)} s`);
  }
  const line = (name: string, xs: number[]) =>
    `${name.padEnd(8)} p50 ${(pct(xs, 50) / 1000).toFixed(2)} s   p95 ${(pct(xs, 95) / 1000).toFixed(2)} s`;
  console.log(line('raw', raw));
  console.log(line('driver', viaDriver));
  console.log(
    `ratio driver/raw: p50 ${(pct(viaDriver, 50) / pct(raw, 50)).toFixed(2)}x, p95 ${(pct(viaDriver, 95) / pct(raw, 95)).toFixed(2)}x`,
  );
} finally {
  await driver.destroy('bench').catch(() => {});
  for (let i = 0; i < runs; i++) await driver.destroy(`bench${i}`).catch(() => {});
  execFileSync('ip', ['link', 'delete', rawTap]);
  execFileSync('ip', ['link', 'delete', bridge]);
  await rm(work, { recursive: true, force: true });
}
