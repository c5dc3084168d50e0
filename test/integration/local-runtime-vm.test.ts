/**
 * The composition of the local runtime: a container and a VM of one lab on
 * the same instance network (real Podman, real QEMU with the tiny-vm image).
 * Needs root (the VM's tap and the bridge).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { bridgeName } from '../../server/runtime/local/names.js';
import { instanceOf, newInstanceId, podman, prepareLocalRuntime } from './local-runtime-setup.js';
import { buildVmImage, linkExists, qemuProcesses, testVmDriver } from './local-vm-helpers.js';

const mixed = {
  name: 'mixed',
  title: 'A container and a VM',
  systems: [
    { name: 'client', kind: 'container' as const, image: 'lab-orchestrator/shell' },
    { name: 'box', kind: 'vm' as const, image: 'lab-orchestrator/tiny-vm' },
  ],
};
const vmOnly = {
  name: 'vm-only',
  title: 'Only a VM',
  systems: [{ name: 'box', kind: 'vm' as const, image: 'lab-orchestrator/tiny-vm' }],
};

describe('local runtime: containers and VMs on one instance network', () => {
  let runtime: LocalRuntime;
  let work: string;
  const a = instanceOf(newInstanceId('mix'), mixed);
  const b = instanceOf(newInstanceId('vmo'), vmOnly);

  beforeAll(async () => {
    prepareLocalRuntime(['shell']);
    buildVmImage('tiny-vm');
    work = await mkdtemp(path.join(os.tmpdir(), 'lab-runtime-vm-'));
    const vmDriver = testVmDriver(work);
    runtime = new LocalRuntime({ vmDriver, scope: 'test-local-runtime-vm' });
  }, 1_200_000);

  afterAll(async () => {
    for (const spec of [a, b]) await runtime?.destroy(spec.id).catch(() => {});
    await runtime?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('starts a lab of a container and a VM, both ready', async () => {
    await Promise.all([runtime.provision(a), runtime.provision(b)]);
    const status = await runtime.status(a.id);
    expect(status.systems.map((s) => [s.name, s.kind, s.phase])).toEqual([
      ['client', 'container', 'ready'],
      ['box', 'vm', 'ready'],
    ]);
    expect((await runtime.status(b.id)).systems.map((s) => s.phase)).toEqual(['ready']);
    expect(await runtime.list()).toEqual(expect.arrayContaining([a.id, b.id]));
  }, 300_000);

  it('the container and the VM reach each other by name', async () => {
    const fromContainer = await runtime.exec(a.id, 'client', ['ping', '-c1', '-W3', 'box']);
    expect(fromContainer.exitCode, fromContainer.stdout + fromContainer.stderr).toBe(0);
    const fromVm = await runtime.exec(a.id, 'box', ['ping', '-c', '1', '-W', '3', 'client'], { timeout: 20 });
    expect(fromVm.exitCode, fromVm.stdout + fromVm.stderr).toBe(0);
    expect((await runtime.exec(a.id, 'box', ['hostname'], { timeout: 20 })).stdout.trim()).toBe('box');
  });

  it("a VM of one instance cannot reach the other instance's systems", async () => {
    const client = (await runtime.exec(a.id, 'client', ['hostname', '-i'])).stdout.trim();
    expect(client).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const ping = await runtime.exec(b.id, 'box', ['ping', '-c', '1', '-W', '2', client], { timeout: 20 });
    expect(ping.exitCode).not.toBe(0);
  });

  it('pause and resume reach the VM too', async () => {
    await runtime.pause(a.id);
    expect((await runtime.status(a.id)).systems.map((s) => s.phase)).toEqual(['paused', 'paused']);
    await runtime.resume(a.id);
    expect((await runtime.status(a.id)).systems.map((s) => s.phase)).toEqual(['ready', 'ready']);
    expect((await runtime.exec(a.id, 'client', ['ping', '-c1', '-W3', 'box'])).exitCode).toBe(0);
  });

  it('destroy leaves no container, network, QEMU process or bridge', async () => {
    for (const spec of [a, b]) {
      await runtime.destroy(spec.id);
      expect(
        podman('ps', '-a', '--filter', `label=lab-orchestrator.instance=${spec.id}`, '--format', '{{.Names}}'),
      ).toBe('');
      expect(podman('network', 'ls', '--format', '{{.Name}}')).not.toContain(spec.id);
      expect(linkExists(bridgeName(spec.id))).toBe(false);
      await runtime.destroy(spec.id);
    }
    expect(qemuProcesses(work)).toEqual([]);
    expect(execFileSync('ls', [path.join(work, 'state')], { encoding: 'utf8' }).trim()).toBe('');
    const listed = await runtime.list();
    expect(listed).not.toContain(a.id);
    expect(listed).not.toContain(b.id);
  }, 300_000);
});
