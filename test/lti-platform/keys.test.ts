import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlatform, startPlatform } from './platform.js';

let running: RunningPlatform;
beforeAll(async () => {
  running = await startPlatform();
});
afterAll(() => running?.close());

const fetchJwks = async () => {
  const res = await fetch(running.platform.urls.jwks);
  expect(res.status).toBe(200);
  return (await res.json()) as { keys: Array<Record<string, unknown>> };
};

describe('platform keys', () => {
  it('publishes RS256 public keys only, with kid', async () => {
    const jwks = await fetchJwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: running.platform.keys.currentKid });
    for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(jwks.keys[0]).not.toHaveProperty(privatePart);
  });

  it('rotates: new tokens use the new kid, old tokens verify until their key is retired', async () => {
    const keys = running.platform.keys;
    const oldKid = keys.currentKid;
    const oldToken = await keys.sign({ sub: 'x' });
    const newKid = await keys.rotate();
    expect(newKid).not.toBe(oldKid);
    const newToken = await keys.sign({ sub: 'y' });

    const both = createLocalJWKSet(await fetchJwks());
    expect((await jwtVerify(oldToken, both)).protectedHeader.kid).toBe(oldKid);
    expect((await jwtVerify(newToken, both)).protectedHeader.kid).toBe(newKid);

    expect(() => keys.retire(newKid)).toThrow(/rotate/);
    keys.retire(oldKid);
    const onlyNew = createLocalJWKSet(await fetchJwks());
    await expect(jwtVerify(oldToken, onlyNew)).rejects.toThrow(/no applicable key/);
    await expect(jwtVerify(newToken, onlyNew)).resolves.toBeTruthy();
  });
});
