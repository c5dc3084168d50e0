/**
 * TRUST_PROXY on a real server: X-Forwarded-For from a peer the server does
 * not trust is ignored, so a client cannot dodge the sign-in limits by
 * claiming a new address on every try. (The trusted case is
 * sign-in-limits.test.ts, on the default `loopback`.)
 */
import { describe, expect, it } from 'vitest';
import { PER_NAME } from '../../server/api/sign-in-limits.js';
import { hashPassword } from '../../server/secrets.js';
import { startTestServer } from '../support/server.js';

const PASSWORD = 'correct horse battery';

describe('TRUST_PROXY', () => {
  it('ignores X-Forwarded-For from a peer it does not trust: the failures count against the real address', async () => {
    const direct = await startTestServer({ runtime: null, env: { TRUST_PROXY: 'false' } });
    try {
      const u = await direct.user('frank');
      await direct.store.users.setPasswordHash(u.id, await hashPassword(PASSWORD));
      // A client claiming a new address each time would never be limited if the header counted.
      const statuses: number[] = [];
      for (let i = 0; i <= PER_NAME.points; i++) {
        const forged = { 'x-forwarded-for': `192.0.2.${i + 1}` };
        const r = await direct.api(undefined, 'POST', '/api/v1/session', { username: 'frank', password: 'x' }, forged);
        statuses.push(r.status);
      }
      expect(statuses.at(-1)).toBe(429);
      const audit = await direct.store.audit.list({ target: 'user:local:frank' });
      expect(audit.find((e) => e.action === 'session.throttle')?.details).toMatchObject({ address: '127.0.0.1' });
    } finally {
      await direct.stop();
    }
  });
});
