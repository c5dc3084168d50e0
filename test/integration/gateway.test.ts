/**
 * The console gateway on a real server: tickets, refusals with readable close
 * codes, a real PTY through the terminal socket, the desktop byte path, and
 * the HTTP/WebSocket proxy. The runtime is test/support/shell-runtime.ts
 * (real shells on real PTYs, real loopback sockets): the gateway is the point.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { CLOSE } from '../../server/gateway/protocol.js';
import { closed, opened, openSocket, Screen, ticketFor } from '../support/gateway-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ShellRuntime } from '../support/shell-runtime.js';
import { waitFor } from '../support/wait.js';

let server: TestServer;
let runtime: ShellRuntime;
let alice: { id: string; token: string };
let bob: { id: string; token: string };
let aliceInstance: string;
let bobInstance: string;
let desktopServer: net.Server;
let webApp: http.Server;
let webPort: number;

const listen = (s: net.Server) =>
  new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));

function labYaml(port: number) {
  return `name: gw-lab
title: Gateway test lab
systems:
  - name: client
    kind: container
    image: none
    consoles: [terminal, desktop]
    ports: [${port}]
  - name: server
    kind: container
    image: none
    consoles: [terminal]
`;
}

async function startInstance(token: string): Promise<string> {
  const created = await server.api(token, 'POST', '/api/v1/instances', { lab: 'gw-lab' });
  expect(created.status).toBe(202);
  const id: string = created.body.id;
  await waitFor(`instance ${id} running`, async () => {
    const res = await server.api(token, 'GET', `/api/v1/instances/${id}`);
    return res.body.state === 'running' ? true : undefined;
  });
  return id;
}

beforeAll(async () => {
  // The desktop side: greets like an RFB server, then echoes (a real TCP peer).
  desktopServer = net.createServer((socket) => {
    socket.write('RFB 003.008\n');
    socket.pipe(socket);
  });
  const desktopPort = await listen(desktopServer);
  // A web app inside the lab: answers its path, and echoes over WebSocket.
  webApp = http.createServer((req, res) => {
    if (req.url === '/go-home') {
      res.writeHead(302, { location: '/home' });
      return res.end();
    }
    res.end(`hello from web app ${req.url}`);
  });
  const wss = new WebSocketServer({ server: webApp });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  webPort = await listen(webApp);

  runtime = new ShellRuntime({ desktopPort });
  server = await startTestServer({ runtime });
  const lab = await server.api(server.adminToken, 'POST', '/api/v1/labs', labYaml(webPort), {
    'content-type': 'application/yaml',
  });
  expect(lab.status, JSON.stringify(lab.body)).toBe(201);
  alice = await server.user('alice');
  bob = await server.user('bob');
  aliceInstance = await startInstance(alice.token);
  bobInstance = await startInstance(bob.token);
});

afterAll(async () => {
  await server?.stop();
  desktopServer?.close();
  webApp?.closeAllConnections();
  webApp?.close();
});

describe('console tickets', () => {
  it('are issued to the owner for a declared system and console only', async () => {
    const ok = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'terminal' });
    expect(ok.status).toBe(201);
    expect(ok.body.url).toBe(`/gateway/instances/${aliceInstance}/systems/client/terminal?ticket=${ok.body.ticket}`);
    expect(new Date(ok.body.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(30_000);

    const noSystem = await ticketFor(server, alice.token, aliceInstance, { system: 'nope', console: 'terminal' });
    expect(noSystem.status).toBe(400);
    expect(noSystem.body.error.message).toMatch(/system: .*no system "nope"/);
    const noDesktop = await ticketFor(server, alice.token, aliceInstance, { system: 'server', console: 'desktop' });
    expect(noDesktop.status).toBe(400);
    expect(noDesktop.body.error.message).toMatch(/no desktop console/);
    const noPort = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'http', port: 1 });
    expect(noPort.status).toBe(400);
    expect(noPort.body.error.message).toMatch(/port: .*no web app on port 1/);
  });

  it("are not issued for another learner's instance (404, as if it did not exist), nor without sign-in", async () => {
    const other = await ticketFor(server, alice.token, bobInstance, { system: 'client', console: 'terminal' });
    expect(other.status).toBe(404);
    const anonymous = await server.api(undefined, 'POST', `/api/v1/instances/${aliceInstance}/tickets`, {
      system: 'client',
      console: 'terminal',
    });
    expect(anonymous.status).toBe(401);
  });

  it('are issued to an admin for any instance', async () => {
    const admin = await ticketFor(server, server.adminToken, bobInstance, { system: 'server', console: 'terminal' });
    expect(admin.status).toBe(201);
  });
});

describe('terminal socket', () => {
  it('carries a real shell both ways, with resize, and counts as activity', async () => {
    const before = (await server.store.instances.get(aliceInstance))!.lastActivityAt;
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'terminal' });
    const ws = openSocket(server.url, t.body.url);
    const screen = new Screen(ws);
    await opened(ws);
    ws.send(Buffer.from('echo hello-$((40+2))\r'));
    await screen.until('hello-42');
    ws.send(JSON.stringify({ type: 'resize', cols: 101, rows: 37 }));
    await new Promise((r) => setTimeout(r, 300));
    ws.send(Buffer.from('stty size\r'));
    await screen.until('37 101');
    const after = (await server.store.instances.get(aliceInstance))!.lastActivityAt;
    expect(after.getTime()).toBeGreaterThan(before.getTime());

    ws.send(Buffer.from('exit\r'));
    expect(await closed(ws)).toEqual({ code: CLOSE.ended, reason: 'the terminal session ended' });
  });

  it('refuses a socket without a ticket (4401)', async () => {
    const ws = openSocket(server.url, `/gateway/instances/${aliceInstance}/systems/client/terminal`);
    const c = await closed(ws);
    expect(c.code).toBe(CLOSE.ticket);
    expect(c.reason).toMatch(/ticket is missing, used or expired/);
  });

  it('refuses a used ticket (4401)', async () => {
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'terminal' });
    const first = openSocket(server.url, t.body.url);
    await opened(first);
    const second = openSocket(server.url, t.body.url);
    expect((await closed(second)).code).toBe(CLOSE.ticket);
    first.close();
  });

  it('refuses an expired ticket (4401) and opens no terminal for it', async () => {
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'terminal' });
    const opened = runtime.terminalsOpened;
    const later = Date.now() + 31_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => later);
    try {
      const ws = openSocket(server.url, t.body.url);
      expect((await closed(ws)).code).toBe(CLOSE.ticket);
    } finally {
      clock.mockRestore();
    }
    expect(runtime.terminalsOpened).toBe(opened);
  });

  it("refuses a ticket on another instance's or system's path (4401)", async () => {
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'terminal' });
    const ticket = t.body.ticket as string;
    const onBob = openSocket(server.url, `/gateway/instances/${bobInstance}/systems/client/terminal?ticket=${ticket}`);
    expect((await closed(onBob)).code).toBe(CLOSE.ticket);
    const t2 = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'terminal' });
    const asDesktop = openSocket(
      server.url,
      `/gateway/instances/${aliceInstance}/systems/client/desktop?ticket=${t2.body.ticket}`,
    );
    expect((await closed(asDesktop)).code).toBe(CLOSE.ticket);
  });

  it('refuses a page of another origin (4403), even with a good ticket', async () => {
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'terminal' });
    const ws = openSocket(server.url, t.body.url, 'https://evil.example.com');
    const c = await closed(ws);
    expect(c.code).toBe(CLOSE.origin);
    expect(c.reason).toMatch(/origin refused/);
  });

  it('says the lab is paused (4409) when it was paused after the ticket', async () => {
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'server', console: 'terminal' });
    expect((await server.api(alice.token, 'POST', `/api/v1/instances/${aliceInstance}/pause`)).status).toBe(202);
    try {
      const ws = openSocket(server.url, t.body.url);
      const c = await closed(ws);
      expect(c).toEqual({ code: CLOSE.notRunning, reason: 'the lab is paused: resume it to use its consoles' });
      const refused = await ticketFor(server, alice.token, aliceInstance, { system: 'server', console: 'terminal' });
      expect(refused.status).toBe(409);
    } finally {
      await server.api(alice.token, 'POST', `/api/v1/instances/${aliceInstance}/resume`);
    }
  });
});

describe('desktop socket', () => {
  it('passes raw bytes both ways in binary frames', async () => {
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'desktop' });
    const ws = openSocket(server.url, t.body.url);
    const frames: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (data: Buffer, binary) => frames.push({ data, binary }));
    await opened(ws);
    // Varied bytes, so that a chunk out of order or lost shows; chunks of every size on the way back.
    const payload = randomBytes(1 << 20);
    ws.send(payload);
    await waitFor(
      'the echo',
      async () => (Buffer.concat(frames.map((f) => f.data)).length >= 12 + payload.length ? true : undefined),
      10,
    );
    const all = Buffer.concat(frames.map((f) => f.data));
    expect(all.subarray(0, 12).toString()).toBe('RFB 003.008\n');
    expect(all.subarray(12).equals(payload)).toBe(true);
    expect(frames.every((f) => f.binary)).toBe(true);
    ws.close();
  });
});

describe('HTTP proxy', () => {
  const base = (id: string) => `/gateway/instances/${id}/systems/client/http/${webPort}`;

  it('swaps a ticket for a path session and proxies requests and redirects', async () => {
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'http', port: webPort });
    expect(t.status).toBe(201);
    const entry = await fetch(`${server.url}${t.body.url}`, { redirect: 'manual' });
    expect(entry.status).toBe(303);
    const location = entry.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${base(aliceInstance)}/s/[\\w-]+/$`));
    const page = await fetch(`${server.url}${location}index.html?x=1`);
    expect(await page.text()).toBe('hello from web app /index.html?x=1');
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    const redirect = await fetch(`${server.url}${location}go-home`, { redirect: 'manual' });
    expect(redirect.headers.get('location')).toBe(`${location}home`);
    // The ticket is used up.
    expect((await fetch(`${server.url}${t.body.url}`, { redirect: 'manual' })).status).toBe(401);

    // WebSockets of the web app go through the same session.
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}${location}socket`, { origin: server.url });
    await opened(ws);
    const echoed = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
    ws.send('ping through the proxy');
    expect(await echoed).toBe('ping through the proxy');
    ws.close();
  });

  it("does not let a learner into another learner's web app", async () => {
    const other = await ticketFor(server, alice.token, bobInstance, {
      system: 'client',
      console: 'http',
      port: webPort,
    });
    expect(other.status).toBe(404);
    // Alice's session on Bob's path: refused.
    const t = await ticketFor(server, alice.token, aliceInstance, { system: 'client', console: 'http', port: webPort });
    const location = (await fetch(`${server.url}${t.body.url}`, { redirect: 'manual' })).headers.get('location')!;
    const session = /\/s\/([\w-]+)\//.exec(location)![1];
    const onBob = await fetch(`${server.url}${base(bobInstance)}/s/${session}/`);
    expect(onBob.status).toBe(401);
    expect(await onBob.text()).not.toMatch(/hello from web app/);
    // No ticket, no session: refused.
    expect((await fetch(`${server.url}${base(bobInstance)}/`)).status).toBe(401);
    expect((await fetch(`${server.url}${base(bobInstance)}/s/made-up-session/`)).status).toBe(401);
  });
});
