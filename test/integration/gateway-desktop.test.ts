/**
 * Desktops through the gateway on the real local runtime (Podman, the
 * example lab's desktop image): an RFB handshake completes through the
 * gateway, and a second viewer (an instructor watching) does not throw the
 * first one out, even when it asks for an exclusive session — the image's
 * Xvnc runs with -AlwaysShared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { opened, openSocket, ticketFor } from '../support/gateway-client.js';
import { importLabFolder, startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';

let server: TestServer;
let learner: { id: string; token: string };
let id: string;

beforeAll(async () => {
  prepareLocalRuntime(['shell', 'desktop']);
  server = await startTestServer({ runtime: new LocalRuntime({ scope: `gwd-${process.pid}` }) });
  expect((await importLabFolder(server, 'labs/net-basics')).status).toBe(201);
  learner = await server.user('learner');
  id = (await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'net-basics' })).body.id;
  await waitFor('the lab running', async () => {
    const res = await server.api(learner.token, 'GET', `/api/v1/instances/${id}`);
    if (res.body.state === 'failed') throw new Error(res.body.reason);
    return res.body.state === 'running' ? true : undefined;
  });
});
afterAll(async () => {
  for (const i of (await server?.store.instances.list()) ?? []) await server.runtime?.destroy(i.id);
  await server?.stop();
});

/** The client side of an RFB 3.8 handshake without authentication; resolves with the desktop's size and name. */
async function rfbHandshake(ws: WebSocket, shared: boolean) {
  let buffer = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  ws.on('message', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data]);
    wake?.();
  });
  const take = async (n: number) => {
    while (buffer.length < n) await new Promise<void>((r) => (wake = r));
    const out = buffer.subarray(0, n);
    buffer = buffer.subarray(n);
    return out;
  };
  expect((await take(12)).toString()).toBe('RFB 003.008\n');
  ws.send(Buffer.from('RFB 003.008\n'));
  const count = (await take(1))[0]!;
  expect([...(await take(count))]).toContain(1); // security type None
  ws.send(Buffer.from([1]));
  expect((await take(4)).readUInt32BE(0)).toBe(0); // security result: OK
  ws.send(Buffer.from([shared ? 1 : 0]));
  const init = await take(24);
  const name = (await take(init.readUInt32BE(20))).toString();
  return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), name };
}

describe('desktop through the gateway', () => {
  it('speaks RFB end to end, and a second viewer leaves the first connected', async () => {
    const first = openSocket(
      server.url,
      (await ticketFor(server, learner.token, id, { system: 'client', console: 'desktop' })).body.url,
    );
    await opened(first);
    const one = await rfbHandshake(first, false);
    expect(one).toEqual({ width: 1280, height: 800, name: 'client' });

    // An admin (or the course's instructor) watches, asking for an exclusive session.
    const second = openSocket(
      server.url,
      (await ticketFor(server, server.adminToken, id, { system: 'client', console: 'desktop' })).body.url,
    );
    await opened(second);
    expect(await rfbHandshake(second, false)).toEqual(one);

    // The first viewer still gets updates: ask for a full frame and see a FramebufferUpdate (type 0).
    const update = new Promise<number>((resolve) => first.once('message', (d: Buffer) => resolve(d[0]!)));
    const request = Buffer.alloc(10);
    request.writeUInt8(3, 0); // FramebufferUpdateRequest
    request.writeUInt8(0, 1); // not incremental
    request.writeUInt16BE(one.width, 6);
    request.writeUInt16BE(one.height, 8);
    first.send(request);
    expect(await update).toBe(0);
    expect(first.readyState).toBe(first.OPEN);
    first.close();
    second.close();
  });
});
