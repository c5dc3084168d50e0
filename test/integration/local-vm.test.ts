/**
 * The QEMU VM driver against real QEMU, with tiny-vm (Debian kernel +
 * busybox + Debian's qemu-guest-agent) on a bridge made here standing in for
 * the instance network. Needs root (taps, bridges).
 */

import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { files } from '../../server/runtime/local/vm/qemu-args.js';
import { QemuVmDriver } from '../../server/runtime/local/vm/qemu-driver.js';
import { pathsOf, readRecord } from '../../server/runtime/local/vm/vm-state.js';
import {
  buildVmImage,
  createBridge,
  linkExists,
  qemuProcesses,
  REPO,
  readUntil,
  type TestBridge,
  testVmDriver,
  vmNetwork,
  vmSystem,
} from './local-vm-helpers.js';

const TINY = 'lab-orchestrator/tiny-vm';
const IMAGES = path.join(REPO, '.cache/images/vm');

let bridge: TestBridge;
let work: string;
let driver: QemuVmDriver;
const instance = `vmt${Date.now().toString(36)}`;

beforeAll(async () => {
  buildVmImage('tiny-vm');
  bridge = createBridge();
  work = await mkdtemp(path.join(os.tmpdir(), 'lab-vm-test-'));
  driver = testVmDriver(work);
});

afterAll(async () => {
  await driver?.destroy(instance).catch(() => {});
  await driver?.destroy(`${instance}-bad`).catch(() => {});
  bridge?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

const net = () => vmNetwork(bridge, 10, { server: 10, client: 11, host: 1 });
const run = async (argv: string[]) => {
  const r = await driver.exec(instance, 'server', argv, { timeout: 20 });
  expect(r.timedOut).toBe(false);
  return r;
};
const sh = (script: string) => run(['sh', '-c', script]);

describe('QEMU VM driver with tiny-vm', () => {
  it('boots to ready, reports its accelerator, and runs commands through the guest agent', async () => {
    await driver.create(instance, vmSystem('server', TINY), net());
    const status = await driver.status(instance, 'server');
    expect(status?.phase).toBe('ready');
    expect(status?.reason).toMatch(/KVM|TCG/);
    expect((await run(['hostname'])).stdout.trim()).toBe('server');
    const hosts = (await run(['cat', '/etc/hosts'])).stdout;
    expect(hosts).toMatch(new RegExp(`${bridge.prefix.replaceAll('.', '\\.')}\\.11\\s+client`));
    const failing = await sh('echo out; echo err >&2; exit 3');
    expect(failing).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect((await driver.exec(instance, 'server', ['cat'], { stdin: 'from stdin' })).stdout).toBe('from stdin');
  });

  it('is on the instance bridge: it reaches the host by the name in /etc/hosts', async () => {
    const ping = await run(['ping', '-c', '1', '-W', '3', 'host']);
    expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
  });

  it('kills a command that outlives its timeout', async () => {
    const r = await driver.exec(instance, 'server', ['sleep', '30'], { timeout: 1 });
    expect(r.timedOut).toBe(true);
    expect((await sh('pidof sleep || echo none')).stdout.trim()).toBe('none');
  });

  it('creating again adopts the running VM instead of booting a second one', async () => {
    await sh('echo kept > /root/adopt');
    const before = qemuProcesses(work);
    await driver.create(instance, vmSystem('server', TINY), net());
    expect(qemuProcesses(work)).toEqual(before);
    expect((await sh('cat /root/adopt')).stdout).toBe('kept\n');
  });

  it('serves a shell on the serial console as the terminal', async () => {
    const terminal = await driver.terminal(instance, 'server', { cols: 80, rows: 24 });
    try {
      const prompt = readUntil(terminal, /server:[^\n]*# /, 20_000);
      terminal.write('\r');
      await prompt;
      const answer = readUntil(terminal, /hello-\d+\r?\n/, 20_000); // the whole line: output may come in pieces
      terminal.write('echo hello-$((40+2))\r');
      expect(await answer).toContain('hello-42');
      await terminal.resize({ cols: 100, rows: 30 }); // a no-op on a serial line, but it must not fail
    } finally {
      terminal.destroy();
    }
  });

  it('serves the screen over VNC as the desktop (raw RFB)', async () => {
    const desktop = await driver.desktop(instance, 'server');
    try {
      expect(await readUntil(desktop as never, /RFB \d{3}\.\d{3}\n/, 10_000)).toBe('RFB 003.008\n');
    } finally {
      desktop.destroy();
    }
  });

  it('a restarted server (a new driver on the same folders) finds the running VM again', async () => {
    const again = new QemuVmDriver({ imagesDir: IMAGES, stateDir: driver.stateDir, socketDir: driver.socketDir });
    expect(await again.list()).toContainEqual({ instanceId: instance, system: 'server' });
    expect((await again.status(instance, 'server'))?.phase).toBe('ready');
    expect((await again.exec(instance, 'server', ['hostname'])).stdout.trim()).toBe('server');
  });

  it('pause stops the guest and resume continues it; a file written before survives', async () => {
    await sh('echo before-pause > /root/kept && sync');
    const uptime = async () => Number((await run(['cat', '/proc/uptime'])).stdout.split(' ')[0]);
    const startedAt = Date.now();
    const before = await uptime();
    await driver.pause(instance);
    expect((await driver.status(instance, 'server'))?.phase).toBe('paused');
    await expect(driver.exec(instance, 'server', ['true'], { timeout: 2 })).rejects.toThrow(/paused/);
    // The reconciler may call create again: a paused VM is adopted as it is, not rebooted or removed.
    await driver.create(instance, vmSystem('server', TINY), net());
    expect((await driver.status(instance, 'server'))?.phase).toBe('paused');
    await sleep(4000);
    await driver.resume(instance);
    const after = await uptime();
    const hostSeconds = (Date.now() - startedAt) / 1000;
    // The guest's clock stood still while paused: it saw at least 3 s less than the host did.
    expect(after - before).toBeLessThan(hostSeconds - 3);
    expect((await driver.status(instance, 'server'))?.phase).toBe('ready');
    expect((await sh('cat /root/kept')).stdout).toBe('before-pause\n');
  });

  it('reset brings the disk back to the image: a file written before is gone', async () => {
    await sh('echo doomed > /root/doomed && sync');
    await driver.reset(instance, vmSystem('server', TINY), net());
    expect((await driver.status(instance, 'server'))?.phase).toBe('ready');
    expect((await sh('test -e /root/doomed; echo $?')).stdout.trim()).toBe('1');
    expect((await run(['hostname'])).stdout.trim()).toBe('server');
  });

  it('destroy leaves no process, tap, socket or folder, and can be repeated', async () => {
    const paths = pathsOf(driver.stateDir, driver.socketDir, instance, 'server');
    const record = await readRecord(paths);
    expect(record).toBeDefined();
    expect(qemuProcesses(paths.state)).toHaveLength(1);
    expect(linkExists(record!.tap)).toBe(true);
    await driver.destroy(instance);
    expect(qemuProcesses(paths.state)).toEqual([]);
    expect(linkExists(record!.tap)).toBe(false);
    await expect(stat(files(paths).qmp)).rejects.toThrow();
    await expect(stat(paths.sockets)).rejects.toThrow();
    await expect(stat(paths.state)).rejects.toThrow();
    expect(await driver.list()).not.toContainEqual({ instanceId: instance, system: 'server' });
    expect(await driver.status(instance, 'server')).toBeUndefined();
    await driver.destroy(instance);
  });
});

describe('QEMU VM driver: VMs that cannot start', () => {
  const bad = `${instance}-bad`;
  const expectNothingLeft = async (system: string) => {
    const paths = pathsOf(driver.stateDir, driver.socketDir, bad, system);
    expect(qemuProcesses(paths.state)).toEqual([]);
    await expect(stat(paths.state)).rejects.toThrow();
    await expect(stat(paths.sockets)).rejects.toThrow();
    expect(execFileSync('ip', ['-o', 'link', 'show', 'master', bridge.name], { encoding: 'utf8' })).toBe('');
    expect(await driver.status(bad, system)).toBeUndefined();
  };

  it('an image that does not exist fails with a readable reason and leaves nothing', async () => {
    await expect(driver.create(bad, vmSystem('ghost', 'lab-orchestrator/no-such-vm'), net())).rejects.toThrow(
      /VM image "lab-orchestrator\/no-such-vm" does not exist.*build\.sh/,
    );
    await expectNothingLeft('ghost');
  });

  it('an image without its base disk fails with a readable reason and leaves nothing', async () => {
    const images = path.join(work, 'images');
    await mkdir(path.join(images, 'broken-vm'), { recursive: true });
    for (const f of ['manifest.json', 'vmlinuz', 'initrd.img']) {
      await copyFile(path.join(IMAGES, 'tiny-vm', f), path.join(images, 'broken-vm', f));
    }
    const other = new QemuVmDriver({ imagesDir: images, stateDir: driver.stateDir, socketDir: driver.socketDir });
    await expect(other.create(bad, vmSystem('nobase', 'lab-orchestrator/broken-vm'), net())).rejects.toThrow(
      /incomplete: its base disk .* is missing/,
    );
    await expectNothingLeft('nobase');
  });

  it('a VM whose disk does not boot fails with what its console said, and leaves nothing', async () => {
    const images = path.join(work, 'images');
    await mkdir(path.join(images, 'noboot-vm'), { recursive: true });
    for (const f of ['manifest.json', 'vmlinuz', 'initrd.img']) {
      await copyFile(path.join(IMAGES, 'tiny-vm', f), path.join(images, 'noboot-vm', f));
    }
    // A blank disk: the initramfs finds no file system to mount and powers off.
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(images, 'noboot-vm', 'base.qcow2'), '64M']);
    const manifest = JSON.parse(await readFile(path.join(images, 'noboot-vm', 'manifest.json'), 'utf8'));
    await writeFile(path.join(images, 'noboot-vm', 'manifest.json'), JSON.stringify({ ...manifest, name: 'noboot' }));
    const other = new QemuVmDriver({ imagesDir: images, stateDir: driver.stateDir, socketDir: driver.socketDir });
    await expect(other.create(bad, vmSystem('noboot', 'lab-orchestrator/noboot-vm'), net())).rejects.toThrow(
      /stopped while booting.*cannot mount the root disk/,
    );
    await expectNothingLeft('noboot');
  });

  it('a network that is not usable is refused before anything is made', async () => {
    await expect(driver.create(bad, vmSystem('ghost', TINY), { ...net(), address: '10.0.0.300/24' })).rejects.toThrow(
      /address "10.0.0.300\/24" is not usable/,
    );
    await expect(driver.create(bad, vmSystem('ghost', TINY), { ...net(), bridge: 'no-such-bridge' })).rejects.toThrow(
      /bridge no-such-bridge does not exist/,
    );
    await expectNothingLeft('ghost');
  });
});
