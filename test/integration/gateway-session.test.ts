/**
 * Standalone sign-in of the browser (POST/DELETE /api/v1/session) on a real
 * server and database: a password or an API token becomes a short-lived
 * session token; wrong credentials get one message that gives nothing away.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../server/secrets.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { REPO } from './local-runtime-setup.js';

let server: TestServer;
let carol: { id: string; token: string };

beforeAll(async () => {
  if (!fs.existsSync(`${REPO}client/dist/index.html`)) {
    execFileSync('npx', ['vite', 'build', 'client'], { cwd: REPO, stdio: 'inherit' });
  }
  server = await startTestServer({ runtime: null });
  carol = await server.user('carol');
  await server.store.users.setPasswordHash(carol.id, await hashPassword('correct horse battery'));
});
afterAll(async () => {
  await server?.stop();
});

describe('browser session', () => {
  it('signs in with a password and gives a 12-hour token that works as a Bearer token', async () => {
    const res = await server.api(undefined, 'POST', '/api/v1/session', {
      username: 'carol',
      password: 'correct horse battery',
    });
    expect(res.status).toBe(201);
    expect(res.body.user).toEqual({ id: carol.id, name: 'carol', admin: false });
    const hours = (new Date(res.body.expiresAt).getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(11.9);
    expect(hours).toBeLessThanOrEqual(12);
    const me = await server.api(res.body.token, 'GET', '/api/v1/users/me');
    expect(me.body.id).toBe(carol.id);
    const tokens = await server.api(res.body.token, 'GET', '/api/v1/tokens');
    expect(tokens.body.map((t: { name: string }) => t.name)).toContain('browser session');
  });

  it('refuses a wrong password and an unknown user with the same message', async () => {
    const wrong = await server.api(undefined, 'POST', '/api/v1/session', { username: 'carol', password: 'nope' });
    const unknown = await server.api(undefined, 'POST', '/api/v1/session', { username: 'nobody', password: 'nope' });
    const noPassword = await server.api(undefined, 'POST', '/api/v1/session', { username: 'admin', password: 'x' });
    for (const res of [wrong, unknown, noPassword]) {
      expect(res.status).toBe(401);
      expect(res.body.error.message).toBe('wrong user name or password');
    }
  });

  it('names the field of malformed input', async () => {
    const res = await server.api(undefined, 'POST', '/api/v1/session', { username: 'carol' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/body/);
  });

  it('signs in with an API token, and signs out by revoking the session token only', async () => {
    const res = await server.api(undefined, 'POST', '/api/v1/session', { token: carol.token });
    expect(res.status).toBe(201);
    expect(res.body.token).not.toBe(carol.token);
    const bad = await server.api(undefined, 'POST', '/api/v1/session', { token: 'lo_madeup' });
    expect(bad.status).toBe(401);

    // Signing out with the long-lived API token is refused: it is not a session.
    expect((await server.api(carol.token, 'DELETE', '/api/v1/session')).status).toBe(400);
    expect((await server.api(res.body.token, 'DELETE', '/api/v1/session')).status).toBe(204);
    expect((await server.api(res.body.token, 'GET', '/api/v1/users/me')).status).toBe(401);
    expect((await server.api(carol.token, 'GET', '/api/v1/users/me')).status).toBe(200);
  });
});

describe('the browser client', () => {
  it('is served at / with the single-page fallback, but not instead of the API or operations endpoints', async () => {
    for (const page of ['/', '/signin', '/instances/iabc']) {
      const res = await fetch(`${server.url}${page}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toContain('<div id="app">');
    }
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(await (await fetch(server.url)).text())![1];
    const js = await fetch(`${server.url}${asset}`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);

    const api = await fetch(`${server.url}/api/v1/nothing-here`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { message: string } }).error.message).toMatch(/no API route/);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${server.url}/gateway/nowhere`)).status).toBe(404);
  });
});
