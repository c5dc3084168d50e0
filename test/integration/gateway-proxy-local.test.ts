/**
 * The gateway's HTTP proxy to a web app inside a real container of the local
 * runtime (Podman): the browser reaches a port of a lab system by path, with
 * a ticket, without any route from the host to the instance network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { ticketFor } from '../support/gateway-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';

// A one-file web server with nothing but nc: every connection gets one page.
const LAB = `name: web-app
title: A web app
systems:
  - name: web
    kind: container
    image: lab-orchestrator/shell
    ports: [8080]
    command:
      - /bin/sh
      - -c
      - "while true; do printf 'HTTP/1.1 200 OK\\\\r\\\\nContent-Type: text/plain\\\\r\\\\nContent-Length: 14\\\\r\\\\nConnection: close\\\\r\\\\n\\\\r\\\\nhello from web' | nc -l -p 8080 -q 1 >/dev/null; done"
`;

let server: TestServer;
let learner: { id: string; token: string };
let instanceId: string;

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  server = await startTestServer({ runtime: new LocalRuntime({ scope: `proxy-${process.pid}` }) });
  expect(
    (await server.api(server.adminToken, 'POST', '/api/v1/labs', LAB, { 'content-type': 'application/yaml' })).status,
  ).toBe(201);
  learner = await server.user('learner');
  instanceId = (await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'web-app' })).body.id;
  await waitFor('the instance to run', async () => {
    const res = await server.api(learner.token, 'GET', `/api/v1/instances/${instanceId}`);
    if (res.body.state === 'failed') throw new Error(res.body.reason);
    return res.body.state === 'running' ? true : undefined;
  });
});
afterAll(async () => {
  if (instanceId) await server?.runtime?.destroy(instanceId);
  await server?.stop();
});

describe('HTTP proxy on the local runtime', () => {
  it('serves the page of a web app inside a container through a ticket and a path session', async () => {
    const ticket = await ticketFor(server, learner.token, instanceId, { system: 'web', console: 'http', port: 8080 });
    expect(ticket.status).toBe(201);
    const entry = await fetch(`${server.url}${ticket.body.url}`, { redirect: 'manual' });
    expect(entry.status).toBe(303);
    const page = await fetch(`${server.url}${entry.headers.get('location')}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('hello from web');
  });

  it('refuses a port the lab does not declare, and a stranger', async () => {
    const undeclared = await ticketFor(server, learner.token, instanceId, {
      system: 'web',
      console: 'http',
      port: 9999,
    });
    expect(undeclared.status).toBe(400);
    const stranger = await server.user('stranger');
    const other = await ticketFor(server, stranger.token, instanceId, { system: 'web', console: 'http', port: 8080 });
    expect(other.status).toBe(404);
  });
});
