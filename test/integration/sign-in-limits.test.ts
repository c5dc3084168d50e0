/**
 * Rate limits on failed sign-ins (server/api/sign-in-limits.ts) on a real
 * server and FerretDB: wrong passwords for one user from one address, and
 * failures of any kind from one address, end in 429 with Retry-After; other
 * users and other addresses still sign in; each block is audited.
 *
 * Client addresses come from X-Forwarded-For, which the server trusts from
 * loopback (app.ts `trust proxy`), as it would behind a reverse proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PER_ADDRESS, PER_NAME } from '../../server/api/sign-in-limits.js';
import { hashPassword } from '../../server/secrets.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let carolToken: string;
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  server = await startTestServer({ runtime: null });
  for (const name of ['carol', 'dave', 'erin']) {
    const u = await server.user(name);
    if (name === 'carol') carolToken = u.token;
    await server.store.users.setPasswordHash(u.id, await hashPassword(PASSWORD));
  }
});
afterAll(async () => {
  await server?.stop();
});

const signIn = (address: string, username: string, password: string) =>
  server.api(undefined, 'POST', '/api/v1/session', { username, password }, { 'x-forwarded-for': address });

describe('sign-in rate limits', () => {
  it('refuses a user from an address after too many wrong passwords, but not other users or addresses', async () => {
    const a = '198.51.100.7';
    for (let i = 0; i < PER_NAME.points; i++) expect((await signIn(a, 'carol', 'wrong')).status).toBe(401);
    const refused = await signIn(a, 'carol', 'wrong');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(PER_NAME.blockSeconds - 60);
    expect(refused.body.error.message).toMatch(/too many failed sign-ins for user "carol" from this address/);
    // Blocked means blocked, even with the right password (else the limit would confirm a guess).
    expect((await signIn(a, 'carol', PASSWORD)).status).toBe(429);
    // Another user from the same address, and the same user from elsewhere, are not affected.
    expect((await signIn(a, 'dave', PASSWORD)).status).toBe(201);
    expect((await signIn('198.51.100.8', 'carol', PASSWORD)).status).toBe(201);

    const audit = await server.store.audit.list({ target: 'user:local:carol' });
    const block = audit.filter((e) => e.action === 'session.throttle');
    expect(block).toHaveLength(1);
    expect(block[0]?.details).toMatchObject({ address: a, name: 'carol' });
  });

  it('forgives the failures of a user once the right password comes', async () => {
    const a = '198.51.100.9';
    for (let i = 0; i < PER_NAME.points - 1; i++) expect((await signIn(a, 'erin', 'wrong')).status).toBe(401);
    expect((await signIn(a, 'erin', PASSWORD)).status).toBe(201);
    for (let i = 0; i < PER_NAME.points - 1; i++) expect((await signIn(a, 'erin', 'wrong')).status).toBe(401);
    expect((await signIn(a, 'erin', PASSWORD)).status).toBe(201);
  });

  it('refuses an address after too many failed tokens, for passwords too', async () => {
    const a = '203.0.113.5';
    const headers = { 'x-forwarded-for': a };
    for (let i = 0; i < PER_ADDRESS.points; i++) {
      const bad = await server.api(`lo_guess${i}`, 'GET', '/api/v1/labs', undefined, headers);
      expect(bad.status).toBe(401);
    }
    const refused = await server.api('lo_guess-last', 'GET', '/api/v1/labs', undefined, headers);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body.error.message).toMatch(/too many failed sign-ins from this address: try again in \d+ minutes/);
    // Session sign-in with a token counts the same way.
    const viaSession = await server.api(undefined, 'POST', '/api/v1/session', { token: 'lo_guess' }, headers);
    expect(viaSession.status).toBe(429);
    // A password from that address is refused before it is checked.
    expect((await signIn(a, 'dave', PASSWORD)).status).toBe(429);
    // A real token still works (it cannot be guessed; checking every call would cost a read).
    expect((await server.api(carolToken, 'GET', '/api/v1/labs', undefined, headers)).status).toBe(200);
    // Other addresses are not affected.
    expect((await signIn('203.0.113.6', 'dave', PASSWORD)).status).toBe(201);

    const audit = await server.store.audit.list({ target: `address:${a}` });
    expect(audit.map((e) => e.action)).toEqual(['session.throttle']);
  });
});
