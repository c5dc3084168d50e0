/**
 * The QEMU VM driver with the real Debian VM image (debootstrap bookworm,
 * systemd, cloud-init, qemu-guest-agent): cloud-init applies the generated
 * user, password, host name, address and /etc/hosts from the NoCloud seed,
 * and the learner logs in on the serial console with that password.
 * Slower than local-vm.test.ts: the image build takes minutes on a fresh
 * machine and a boot under TCG ~30–90 s.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuVmDriver } from '../../server/runtime/local/vm/qemu-driver.js';
import {
  buildVmImage,
  createBridge,
  REPO,
  readUntil,
  type TestBridge,
  vmNetwork,
  vmSystem,
} from './local-vm-helpers.js';

const DEBIAN = 'lab-orchestrator/debian-vm';
const USER = { name: 'student', password: `pw-${Date.now().toString(36)}` };

let bridge: TestBridge;
let work: string;
let driver: QemuVmDriver;
const instance = `vmd${Date.now().toString(36)}`;

beforeAll(async () => {
  buildVmImage('debian-vm');
  bridge = createBridge();
  work = await mkdtemp(path.join(os.tmpdir(), 'lab-vm-debian-'));
  driver = new QemuVmDriver({
    imagesDir: path.join(REPO, '.cache/images/vm'),
    stateDir: path.join(work, 'state'),
    socketDir: path.join(work, 's'),
    bootTimeout: 400,
  });
}, 1_200_000);

afterAll(async () => {
  await driver?.destroy(instance).catch(() => {});
  bridge?.remove();
  if (work) await rm(work, { recursive: true, force: true });
}, 120_000);

describe('QEMU VM driver with debian-vm', () => {
  it('boots with cloud-init identity: host name, user, address, /etc/hosts', { timeout: 500_000 }, async () => {
    await driver.create(instance, vmSystem('server', DEBIAN, USER), vmNetwork(bridge, 20, { server: 20, client: 21 }));
    expect((await driver.status(instance, 'server'))?.phase).toBe('ready');
    const run = (argv: string[]) => driver.exec(instance, 'server', argv, { timeout: 30 });
    expect((await run(['hostname'])).stdout.trim()).toBe('server');
    expect((await run(['id', '-un', USER.name])).stdout.trim()).toBe(USER.name);
    expect((await run(['cat', '/etc/hosts'])).stdout).toMatch(/\s+client\n/);
    expect((await run(['ip', '-4', '-o', 'addr'])).stdout).toContain(`${bridge.prefix}.20/24`);
    expect((await driver.exec(instance, 'server', ['whoami'], { user: USER.name })).stdout.trim()).toBe(USER.name);
  });

  it('lets the learner log in on the serial console with the generated password', { timeout: 120_000 }, async () => {
    const terminal = await driver.terminal(instance, 'server', { cols: 80, rows: 24 });
    try {
      const login = readUntil(terminal, /login: $/, 30_000);
      terminal.write('\r');
      await login;
      const password = readUntil(terminal, /Password: $/, 30_000);
      terminal.write(`${USER.name}\r`);
      await password;
      const prompt = readUntil(terminal, new RegExp(`${USER.name}@server:~\\$ $`), 60_000);
      terminal.write(`${USER.password}\r`);
      await prompt;
      const answer = readUntil(terminal, /uid=\d+\(student\)/, 30_000);
      terminal.write('id\r');
      await answer;
    } finally {
      terminal.destroy();
    }
  });
});
