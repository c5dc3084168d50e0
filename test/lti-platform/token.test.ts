import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlatform, startPlatform } from './platform.js';
import { seedCourse, TestTool } from './testTool.js';
import { CLIENT_ASSERTION_TYPE, SCOPE } from './vocabulary.js';

let running: RunningPlatform;
let tool: TestTool;
let clientId: string;

beforeAll(async () => {
  running = await startPlatform();
  tool = await TestTool.start();
  clientId = seedCourse(running.platform, tool, {
    scopes: [SCOPE.score, SCOPE.lineItem, SCOPE.membershipReadOnly],
  }).clientId;
});
afterAll(async () => {
  await running?.close();
  await tool?.close();
});

const errorOf = async (res: Response) => (await res.json()) as { error: string; error_description: string };

describe('token endpoint', () => {
  it('issues a bearer token with the granted scopes, dropping the others silently', async () => {
    const res = await tool.requestToken(running.platform, clientId, [
      SCOPE.score,
      SCOPE.resultReadOnly,
      'https://example.com/other',
    ]);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: SCOPE.score });
    expect(running.platform.store.accessTokens.get(body.access_token as string)).toMatchObject({
      clientId,
      scopes: [SCOPE.score],
    });
  });

  it('refuses a request with none of the tool scopes', async () => {
    const res = await tool.requestToken(running.platform, clientId, [SCOPE.resultReadOnly]);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).error).toBe('invalid_scope');
  });

  it('refuses a replayed client assertion (jti single use)', async () => {
    const assertion = await tool.clientAssertion(running.platform, clientId);
    expect((await tool.requestToken(running.platform, clientId, [SCOPE.score], assertion)).status).toBe(200);
    const replay = await tool.requestToken(running.platform, clientId, [SCOPE.score], assertion);
    expect(replay.status).toBe(401);
    expect(await errorOf(replay)).toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringContaining('already used'),
    });
  });

  it.each([
    ['a wrong aud', { aud: 'http://127.0.0.1:1/token' }, /aud/],
    ['iss other than the client_id', { iss: 'someone-else' }, /iss/],
    ['no jti', { jti: undefined }, /jti/],
    [
      'an expired assertion',
      { exp: Math.floor(Date.now() / 1000) - 60, iat: Math.floor(Date.now() / 1000) - 120 },
      /exp/,
    ],
    ['an unknown sub', { sub: 'unknown-client', iss: 'unknown-client' }, /not a registered client_id/],
  ])('refuses an assertion with %s', async (_name, claims, message) => {
    const assertion = await tool.clientAssertion(running.platform, clientId, claims);
    const res = await tool.requestToken(running.platform, clientId, [SCOPE.score], assertion);
    expect(res.status).toBe(401);
    const body = await errorOf(res);
    expect(body.error).toBe('invalid_client');
    expect(body.error_description).toMatch(message);
  });

  it('refuses an assertion signed by a key the tool does not publish, and accepts the tool new key after rotation', async () => {
    const forged = await tool.clientAssertion(running.platform, clientId, {}, { foreign: true });
    const res = await tool.requestToken(running.platform, clientId, [SCOPE.score], forged);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).error_description).toMatch(/signature/);
    await tool.rotateKey();
    expect((await tool.requestToken(running.platform, clientId, [SCOPE.score])).status).toBe(200);
  });

  it('accepts form-encoded requests only', async () => {
    const res = await fetch(running.platform.urls.token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await tool.clientAssertion(running.platform, clientId),
        scope: SCOPE.score,
      }),
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).error_description).toContain('x-www-form-urlencoded');
  });

  it('refuses another grant type or assertion type', async () => {
    const body = (grant: string, type: string) =>
      new URLSearchParams({
        grant_type: grant,
        client_assertion_type: type,
        client_assertion: randomUUID(),
        scope: SCOPE.score,
      });
    const grant = await fetch(running.platform.urls.token, {
      method: 'POST',
      body: body('password', CLIENT_ASSERTION_TYPE),
    });
    expect((await errorOf(grant)).error).toBe('unsupported_grant_type');
    const type = await fetch(running.platform.urls.token, {
      method: 'POST',
      body: body('client_credentials', 'urn:other'),
    });
    expect(await errorOf(type)).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining('client_assertion_type'),
    });
  });

  it('answers 503 during a simulated outage and recovers', async () => {
    running.platform.failServices({ services: ['token'], retryAfterSeconds: 2 });
    const down = await tool.requestToken(running.platform, clientId, [SCOPE.score]);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('2');
    expect(running.platform.refusedByOutage().token).toBe(1);
    running.platform.recoverServices();
    expect((await tool.requestToken(running.platform, clientId, [SCOPE.score])).status).toBe(200);
  });
});
