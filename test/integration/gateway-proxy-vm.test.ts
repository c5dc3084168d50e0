/**
 * The gateway's HTTP proxy to a web app inside a VM of the local runtime
 * (real QEMU with tiny-vm, on its instance bridge): a lab of one VM and no
 * internet, so no container ever gave the host an address on that bridge
 * (server/runtime/local/vm-port.ts). The web server is busybox httpd, started
 * in the VM through the guest agent. Needs root (taps, bridges).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { ticketFor } from '../support/gateway-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';
import { buildVmImage, testVmDriver } from './local-vm-helpers.js';

const LAB = `name: vm-web
title: A web app in a VM
systems:
  - name: box
    kind: vm
    image: lab-orchestrator/tiny-vm
    ports: [8080, 8081]
`;

let server: TestServer;
let work: string;
let learner: { id: string; token: string };
let instanceId: string;

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  buildVmImage('tiny-vm');
  work = await mkdtemp(path.join(os.tmpdir(), 'lab-proxy-vm-'));
  const vmDriver = testVmDriver(work);
  server = await startTestServer({ runtime: new LocalRuntime({ vmDriver, scope: `proxy-vm-${process.pid}` }) });
  expect(
    (await server.api(server.adminToken, 'POST', '/api/v1/labs', LAB, { 'content-type': 'application/yaml' })).status,
  ).toBe(201);
  learner = await server.user('learner');
  instanceId = (await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'vm-web' })).body.id;
  await waitFor(
    'the instance to run',
    async () => {
      const res = await server.api(learner.token, 'GET', `/api/v1/instances/${instanceId}`);
      if (res.body.state === 'failed') throw new Error(res.body.reason);
      return res.body.state === 'running' ? true : undefined;
    },
    280,
  );
  const started = await server.runtime?.exec(
    instanceId,
    'box',
    [
      'sh',
      '-c',
      'mkdir -p /tmp/www && echo "hello from the vm" > /tmp/www/index.html && busybox httpd -p 8080 -h /tmp/www',
    ],
    { timeout: 30 },
  );
  expect(started?.exitCode, `${started?.stdout}${started?.stderr}`).toBe(0);
}, 600_000);

afterAll(async () => {
  if (instanceId) await server?.runtime?.destroy(instanceId).catch(() => {});
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('HTTP proxy to a VM on the local runtime', () => {
  it('serves the page of a web app inside the VM through a ticket and a path session', async () => {
    const ticket = await ticketFor(server, learner.token, instanceId, { system: 'box', console: 'http', port: 8080 });
    expect(ticket.status).toBe(201);
    const entry = await fetch(`${server.url}${ticket.body.url}`, { redirect: 'manual' });
    expect(entry.status).toBe(303);
    const page = await fetch(`${server.url}${entry.headers.get('location')}index.html`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('hello from the vm\n');
    // The ticket was single-use.
    expect((await fetch(`${server.url}${ticket.body.url}`, { redirect: 'manual' })).status).toBe(401);
  });

  it('answers 502 for a port where nothing listens in the VM', async () => {
    const ticket = await ticketFor(server, learner.token, instanceId, { system: 'box', console: 'http', port: 8081 });
    const entry = await fetch(`${server.url}${ticket.body.url}`, { redirect: 'manual' });
    const page = await fetch(`${server.url}${entry.headers.get('location')}`);
    expect(page.status).toBe(502);
  });

  it('refuses another learner', async () => {
    const stranger = await server.user('stranger');
    const other = await ticketFor(server, stranger.token, instanceId, { system: 'box', console: 'http', port: 8080 });
    expect(other.status).toBe(404);
  });
});
