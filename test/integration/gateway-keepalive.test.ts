/**
 * Keep-alive of console sockets: the gateway pings every socket; one that
 * stops answering (a browser gone without a close, a dead network path) is
 * dropped after two intervals, and its terminal with it; a live one stays.
 * A real server with a short ping interval; browsers answer pings by
 * themselves, the `ws` client too unless told not to.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { newApiToken } from '../../server/secrets.js';
import { type ServerHandle, startServer } from '../../server/server.js';
import { closed, opened } from '../support/gateway-client.js';
import { testMongoUri } from '../support/server.js';
import { ShellRuntime } from '../support/shell-runtime.js';
import { waitFor } from '../support/wait.js';

const PING_MS = 200;
let server: ServerHandle;
let dataDir: string;
let token: string;
let id: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-keepalive-'));
  const config = loadConfig({ MONGODB_URI: testMongoUri('lo-keepalive'), PORT: '0', DATA_DIR: dataDir });
  server = await startServer(config, {
    log: createLogger('silent'),
    runtime: new ShellRuntime(),
    gatewayPingMs: PING_MS,
  });
  const admin = await server.store.users.upsert('local:root', { name: 'root', admin: true });
  const t = newApiToken();
  await server.store.tokens.create({ userId: admin.id, name: 't', hash: t.hash, prefix: t.prefix });
  token = t.token;
  const call = async (method: string, url: string, body: unknown, type = 'application/json') => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return (await res.json()) as Record<string, string>;
  };
  await call(
    'POST',
    '/api/v1/labs',
    'name: ka\ntitle: Keep-alive\nsystems:\n  - name: a\n    kind: container\n    image: none\n',
    'application/yaml',
  );
  id = (await call('POST', '/api/v1/instances', { lab: 'ka' })).id!;
  await waitFor('running', async () =>
    (await server.store.instances.get(id))?.state === 'running' ? true : undefined,
  );
});
afterAll(async () => {
  await server?.store.dropDatabase().catch(() => undefined);
  await server?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function terminalSocket(autoPong: boolean): Promise<WebSocket> {
  const res = await fetch(`${server.url}/api/v1/instances/${id}/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ system: 'a', console: 'terminal' }),
  });
  const { url } = (await res.json()) as { url: string };
  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + url, { origin: server.url, autoPong });
  await opened(ws);
  return ws;
}

describe('gateway keep-alive', () => {
  it('drops a socket that stops answering pings, keeps one that answers', async () => {
    const live = await terminalSocket(true);
    const silent = await terminalSocket(false);
    let pings = 0;
    live.on('ping', () => pings++);
    const gone = await closed(silent, 5);
    expect(gone.code).toBe(1006); // terminated, no close frame: the peer is presumed dead
    await new Promise((r) => setTimeout(r, PING_MS * 3));
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(live.readyState).toBe(WebSocket.OPEN);
    expect(server.gateway.sockets).toBe(1);
    live.close();
  });
});
