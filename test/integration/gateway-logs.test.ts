/**
 * Tickets, proxy sessions and passwords never reach the log: a real server
 * logging at debug level into memory, driven through sign-in, a ticket, a
 * console socket, a refused socket and the HTTP proxy; then the log is
 * searched for every secret that passed.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { hashPassword, newApiToken } from '../../server/secrets.js';
import { type ServerHandle, startServer } from '../../server/server.js';
import { closed, opened, openSocket, Screen } from '../support/gateway-client.js';
import { testMongoUri } from '../support/server.js';
import { ShellRuntime } from '../support/shell-runtime.js';
import { waitFor } from '../support/wait.js';

let lines = '';
const sink = new Writable({
  write(chunk, _enc, cb) {
    lines += chunk.toString();
    cb();
  },
});
let server: ServerHandle;
let web: http.Server;
let dataDir: string;

beforeAll(async () => {
  web = http.createServer((_req, res) => res.end('web app'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-logs-'));
  const config = loadConfig({ MONGODB_URI: testMongoUri('lo-logs'), PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'debug' });
  server = await startServer(config, { log: createLogger('debug', sink), runtime: new ShellRuntime() });
});
afterAll(async () => {
  await server?.store.dropDatabase().catch(() => undefined);
  await server?.close();
  web?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function call(token: string | undefined, method: string, url: string, body?: unknown) {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined
        ? {}
        : { 'content-type': typeof body === 'string' ? 'application/yaml' : 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, string> };
}

describe('gateway and sign-in logs', () => {
  it('hold no ticket, proxy session, token or password', async () => {
    const port = (web.address() as AddressInfo).port;
    const admin = await server.store.users.upsert('local:root', { name: 'root', admin: true });
    const api = newApiToken();
    await server.store.tokens.create({ userId: admin.id, name: 't', hash: api.hash, prefix: api.prefix });
    const password = 'secret password in the log?';
    await server.store.users.setPasswordHash(admin.id, await hashPassword(password));
    const lab = `name: logs\ntitle: Logs\nsystems:\n  - name: a\n    kind: container\n    image: none\n    consoles: [terminal]\n    ports: [${port}]\n`;
    expect((await call(api.token, 'POST', '/api/v1/labs', lab)).status).toBe(201);

    const session = await call(undefined, 'POST', '/api/v1/session', { username: 'root', password });
    expect(session.status).toBe(201);
    expect(
      (await call(undefined, 'POST', '/api/v1/session', { username: 'root', password: `${password}!` })).status,
    ).toBe(401);
    const token = session.body.token!;
    const id = (await call(token, 'POST', '/api/v1/instances', { lab: 'logs' })).body.id!;
    await waitFor('running', async () =>
      (await server.store.instances.get(id))?.state === 'running' ? true : undefined,
    );

    const secrets = [api.token, token, password];
    const ticket = await call(token, 'POST', `/api/v1/instances/${id}/tickets`, { system: 'a', console: 'terminal' });
    secrets.push(ticket.body.ticket!);
    const ws = openSocket(server.url, ticket.body.url!);
    const screen = new Screen(ws);
    await opened(ws);
    ws.send(Buffer.from('echo logged-$((1+1))\r'));
    await screen.until('logged-2');
    ws.close();
    // A used ticket, refused: its close is logged without it.
    const again = openSocket(server.url, ticket.body.url!);
    expect((await closed(again)).code).toBe(4401);

    const web1 = await call(token, 'POST', `/api/v1/instances/${id}/tickets`, {
      system: 'a',
      console: 'http',
      port: Number(port),
    });
    secrets.push(web1.body.ticket!);
    const entry = await fetch(`${server.url}${web1.body.url}`, { redirect: 'manual' });
    const location = entry.headers.get('location')!;
    secrets.push(/\/s\/([\w-]+)\//.exec(location)![1]!);
    expect(await (await fetch(`${server.url}${location}`)).text()).toBe('web app');
    expect((await call(token, 'DELETE', '/api/v1/session')).status).toBe(204);

    await new Promise((r) => setTimeout(r, 200));
    expect(lines).toContain('gateway: console opened'); // the log is really captured
    for (const secret of secrets) expect(lines).not.toContain(secret);
  });
});
