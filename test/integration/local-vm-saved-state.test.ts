/**
 * VMs that start from a saved state (QEMU `migrate` to a file, `-incoming`
 * on a fresh overlay) against real QEMU with tiny-vm, and get their own
 * identity afterwards. Needs root (taps, bridges).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriverLog, QemuVmDriver } from '../../server/runtime/local/vm/qemu-driver.js';
import { pathsOf, readRecord } from '../../server/runtime/local/vm/vm-state.js';
import {
  buildVmImage,
  createBridge,
  qemuProcesses,
  readUntil,
  type TestBridge,
  testVmDriver,
  vmNetwork,
  vmSystem,
} from './local-vm-helpers.js';

const TINY = 'lab-orchestrator/tiny-vm';
const STUDENT = { name: 'student', password: 'pw-Of-server-1' };

let bridge: TestBridge;
let work: string;
let driver: QemuVmDriver;
const warnings: string[] = [];
const log: DriverLog = { info: () => {}, warn: (detail, msg) => warnings.push(`${msg} ${JSON.stringify(detail)}`) };
const stamp = Date.now().toString(36);
const one = `ss1${stamp}`;
const two = `ss2${stamp}`;
const three = `ss3${stamp}`;
const cold = `ss4${stamp}`;
const rebuilt = `ss5${stamp}`;

beforeAll(async () => {
  buildVmImage('tiny-vm');
  bridge = createBridge();
  work = await mkdtemp(path.join(os.tmpdir(), 'lab-vm-saved-'));
  driver = testVmDriver(work, {
    templatesDir: path.join(work, 'templates'),
    savedState: true,
    powerdownTimeout: 5,
    log,
  });
}, 600_000);

afterAll(async () => {
  for (const id of [one, two, three, cold, rebuilt]) await driver?.destroy(id).catch(() => {});
  bridge?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

// Instance one: server (.10) and client (.11); instances two and three: one server each (.20, .30).
const hostsOne = { server: 10, client: 11, host: 1 };
const exec = async (instance: string, system: string, script: string) => {
  const r = await driver.exec(instance, system, ['sh', '-c', script], { timeout: 20 });
  expect(r.timedOut).toBe(false);
  return r;
};
const out = async (instance: string, system: string, script: string) =>
  (await exec(instance, system, script)).stdout.trim();
const cmdline = (instance: string, system: string) => {
  const [pid] = qemuProcesses(pathsOf(driver.stateDir, driver.socketDir, instance, system).state);
  return pid ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') : [];
};
const templateFolders = async () => (await readdir(path.join(work, 'templates'))).filter((n) => !n.startsWith('.'));

describe('QEMU VM driver: VMs from a saved state (tiny-vm)', () => {
  it('two VMs created at once share one template build and both start from the saved state', async () => {
    await Promise.all([
      driver.create(one, vmSystem('server', TINY, STUDENT), vmNetwork(bridge, 10, hostsOne)),
      driver.create(one, vmSystem('client', TINY), vmNetwork(bridge, 11, hostsOne)),
    ]);
    expect(await templateFolders()).toHaveLength(1);
    const [template] = await templateFolders();
    for (const system of ['server', 'client']) {
      const record = await readRecord(pathsOf(driver.stateDir, driver.socketDir, one, system));
      expect(record?.restoredFrom).toBe(path.join(work, 'templates', template as string));
      expect(cmdline(one, system)).toContain('-incoming');
      const status = await driver.status(one, system);
      expect(status?.phase).toBe('ready');
      expect(status?.reason).toMatch(/started from saved state/);
    }
    // The template's disk is frozen: the overlays stand on it.
    const mode = (await stat(path.join(work, 'templates', template as string, 'disk.qcow2'))).mode & 0o222;
    expect(mode).toBe(0);
  });

  it('each restored VM has its own host name, address, MAC, hosts, machine-id and clock', async () => {
    expect(await out(one, 'server', 'hostname')).toBe('server');
    expect(await out(one, 'client', 'hostname')).toBe('client');
    expect(await out(one, 'server', 'ip -o -4 addr show')).toContain(`${bridge.prefix}.10/24`);
    expect(await out(one, 'server', 'ip -o -4 addr show')).not.toContain('192.0.2.2');
    const record = await readRecord(pathsOf(driver.stateDir, driver.socketDir, one, 'server'));
    expect(await out(one, 'server', 'cat /sys/class/net/eth0/address')).toBe(record?.mac);
    expect(await out(one, 'server', 'cat /etc/hosts')).toMatch(
      new RegExp(`${bridge.prefix.replaceAll('.', '\\.')}\\.11 client`),
    );
    const ids = [await out(one, 'server', 'cat /etc/machine-id'), await out(one, 'client', 'cat /etc/machine-id')];
    const [template] = await templateFolders();
    const meta = JSON.parse(await readFile(path.join(work, 'templates', template as string, 'template.json'), 'utf8'));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set([...ids, meta.machineId]).size).toBe(3);
    // Each QEMU gives a new VM generation ID; the kernel reseeds its random generator on it.
    expect(await out(one, 'server', 'ls /sys/bus/acpi/drivers/vmgenid/')).toMatch(/QEMUVGID/);
    const random = 'head -c 16 /dev/urandom | od -An -tx1';
    expect(await out(one, 'server', random)).not.toBe(await out(one, 'client', random));
    const guestNow = Number(await out(one, 'server', 'date +%s'));
    expect(Math.abs(guestNow - Date.now() / 1000)).toBeLessThan(30);
  });

  it('reaches the other system of its instance by name, and the host', async () => {
    const ping = await exec(one, 'server', 'ping -c 1 -W 3 client && ping -c 1 -W 3 host');
    expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
    const back = await exec(one, 'client', 'ping -c 1 -W 3 server');
    expect(back.exitCode, back.stdout + back.stderr).toBe(0);
  });

  it("the lab user logs in on the console with this VM's password, and not with another", async () => {
    const terminal = await driver.terminal(one, 'server', { cols: 80, rows: 24 });
    try {
      const asked = readUntil(terminal, /Password: ?$/, 20_000);
      terminal.write('login student\r');
      await asked;
      const refused = readUntil(terminal, /Login incorrect[\s\S]*login: ?$/, 30_000);
      terminal.write('not-the-password\r');
      await refused;
      const askedAgain = readUntil(terminal, /Password: ?$/, 20_000);
      terminal.write('student\r');
      await askedAgain;
      const answer = readUntil(terminal, /who=student/, 30_000);
      terminal.write(`${STUDENT.password}\r`);
      await sleepMs(1000);
      terminal.write('echo who=$(id -un)\r');
      expect(await answer).toContain('who=student');
      terminal.write('exit\r');
    } finally {
      terminal.destroy();
    }
  });

  it("a restored VM that reboots comes up as itself (QEMU carries its MAC and identity, not the template's)", async () => {
    const machineId = await out(one, 'server', 'cat /etc/machine-id');
    // /run is a tmpfs: the marker is gone once the guest has booted again.
    const reboot = 'touch /run/before-reboot; sync; (sleep 1; reboot) >/dev/null 2>&1 &';
    await driver.exec(one, 'server', ['sh', '-c', reboot], { timeout: 5 });
    let rebooted = false;
    for (let i = 0; i < 120 && !rebooted; i++) {
      await sleepMs(1000);
      const r = await driver
        .exec(one, 'server', ['test', '-e', '/run/before-reboot'], { timeout: 5 })
        .catch(() => undefined);
      rebooted = r?.exitCode === 1;
    }
    expect(rebooted).toBe(true);
    expect(await out(one, 'server', 'hostname')).toBe('server');
    expect(await out(one, 'server', 'ip -o -4 addr show eth0')).toContain(`${bridge.prefix}.10/24`);
    const record = await readRecord(pathsOf(driver.stateDir, driver.socketDir, one, 'server'));
    expect(await out(one, 'server', 'cat /sys/class/net/eth0/address')).toBe(record?.mac);
    expect(await out(one, 'server', 'grep -c ^student: /etc/passwd')).toBe('1');
    expect(await out(one, 'server', 'cat /etc/machine-id')).toBe(machineId);
  });

  it('a reset goes back to the saved state: a fresh overlay, restored again, same identity, new machine-id', async () => {
    const before = await out(one, 'client', 'cat /etc/machine-id');
    await exec(one, 'client', 'echo doomed > /root/doomed && sync');
    await driver.reset(one, vmSystem('client', TINY), vmNetwork(bridge, 11, hostsOne));
    expect((await driver.status(one, 'client'))?.reason).toMatch(/started from saved state/);
    expect(cmdline(one, 'client')).toContain('-incoming');
    expect(await out(one, 'client', 'test -e /root/doomed; echo $?')).toBe('1');
    expect(await out(one, 'client', 'hostname')).toBe('client');
    expect(await out(one, 'client', 'cat /etc/machine-id')).not.toBe(before);
  });

  it('two instances restored from one template at the same time both work', async () => {
    await Promise.all([
      driver.create(two, vmSystem('server', TINY, STUDENT), vmNetwork(bridge, 20, { server: 20, host: 1 })),
      driver.create(three, vmSystem('server', TINY, STUDENT), vmNetwork(bridge, 30, { server: 30, host: 1 })),
    ]);
    expect(await templateFolders()).toHaveLength(1);
    for (const [id, ip] of [
      [two, 20],
      [three, 30],
    ] as const) {
      expect((await driver.status(id, 'server'))?.reason).toMatch(/started from saved state/);
      expect(await out(id, 'server', 'hostname')).toBe('server');
      expect(await out(id, 'server', 'ip -o -4 addr show eth0')).toContain(`${bridge.prefix}.${ip}/24`);
      const ping = await exec(id, 'server', 'ping -c 1 -W 3 host');
      expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
    }
    expect(await out(two, 'server', 'cat /etc/machine-id')).not.toBe(await out(three, 'server', 'cat /etc/machine-id'));
  });

  it('a template whose state file was deleted is not used: the next VM gets a new one', async () => {
    const before = await readRecord(pathsOf(driver.stateDir, driver.socketDir, three, 'server'));
    await rm(path.join(before?.restoredFrom as string, 'state.mig'), { force: true });
    await driver.create(rebuilt, vmSystem('server', TINY), vmNetwork(bridge, 50, { server: 50, host: 1 }));
    const record = await readRecord(pathsOf(driver.stateDir, driver.socketDir, rebuilt, 'server'));
    expect(record?.restoredFrom).toBeDefined();
    expect(record?.restoredFrom).not.toBe(before?.restoredFrom);
    expect(cmdline(rebuilt, 'server')).toContain('-incoming');
    expect(await out(rebuilt, 'server', 'hostname')).toBe('server');
    // The old template stays while VMs of instance three (and others) stand on its disk.
    expect(await templateFolders()).toHaveLength(2);
    expect(await out(three, 'server', 'hostname')).toBe('server');
  });

  it('a corrupt saved state falls back to a cold boot with a log line, and is not used again', async () => {
    const newest = await readRecord(pathsOf(driver.stateDir, driver.socketDir, rebuilt, 'server'));
    const template = path.basename(newest?.restoredFrom as string);
    const stateFile = path.join(work, 'templates', template, 'state.mig');
    const handle = await open(stateFile, 'r+');
    await handle.write(Buffer.alloc(4096), 0, 4096, 0); // same size, no QEMU header
    await handle.close();
    await driver.create(cold, vmSystem('server', TINY), vmNetwork(bridge, 40, { server: 40, host: 1 }));
    const record = await readRecord(pathsOf(driver.stateDir, driver.socketDir, cold, 'server'));
    expect(record?.restoredFrom).toBeUndefined();
    expect(cmdline(cold, 'server')).not.toContain('-incoming');
    const status = await driver.status(cold, 'server');
    expect(status?.phase).toBe('ready');
    expect(status?.reason).not.toMatch(/saved state/);
    expect(await out(cold, 'server', 'hostname')).toBe('server');
    expect(warnings.join('\n')).toMatch(/restore from saved state failed.*booting cold/);
    await expect(stat(path.join(work, 'templates', template, 'broken'))).resolves.toBeDefined();
    // VMs of instance one still stand on that template's disk: it stays until none does.
    expect(await out(one, 'server', 'hostname')).toBe('server');
  });
});

const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
