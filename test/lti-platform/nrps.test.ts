import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlatform, startPlatform } from './platform.js';
import { seedCourse, TestTool } from './testTool.js';
import { MEDIA_TYPE, ROLE, SCOPE } from './vocabulary.js';

let running: RunningPlatform;
let tool: TestTool;
let seed: ReturnType<typeof seedCourse>;
let token: string;

beforeAll(async () => {
  running = await startPlatform();
  tool = await TestTool.start();
  seed = seedCourse(running.platform, tool);
  token = await tool.accessToken(running.platform, seed.clientId, [SCOPE.membershipReadOnly]);
});
afterAll(async () => {
  await running?.close();
  await tool?.close();
});

const get = (url: string, t = token) =>
  fetch(url, { headers: { authorization: `Bearer ${t}`, accept: MEDIA_TYPE.membershipContainer } });

describe('names and role provisioning', () => {
  it('lists the course members with roles, names and email', async () => {
    const url = running.platform.urls.memberships(seed.course.id);
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(MEDIA_TYPE.membershipContainer);
    const body = (await res.json()) as { id: string; context: object; members: Array<Record<string, unknown>> };
    expect(body.id).toBe(url);
    expect(body.context).toEqual({ id: seed.course.id, label: 'NET101', title: 'Networking 101' });
    expect(body.members).toEqual([
      {
        status: 'Active',
        user_id: 'teacher',
        roles: [ROLE.instructor],
        name: 'Tess Teacher',
        given_name: 'Tess',
        family_name: 'Teacher',
        email: 'tess@example.edu',
      },
      {
        status: 'Active',
        user_id: 'alice',
        roles: [ROLE.learner],
        name: 'Alice Learner',
        given_name: 'Alice',
        family_name: 'Learner',
        email: 'alice@example.edu',
      },
      { status: 'Active', user_id: 'bob', roles: [ROLE.learner], name: 'Bob Learner', email: 'bob@example.edu' },
    ]);
  });

  it('filters by role and pages with a Link header', async () => {
    const first = await get(`${running.platform.urls.memberships(seed.course.id)}?role=Learner&limit=1`);
    const page1 = (await first.json()) as { members: Array<{ user_id: string }> };
    expect(page1.members.map((m) => m.user_id)).toEqual(['alice']);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1];
    expect(next).toBeDefined();
    const second = await get(next!);
    expect(((await second.json()) as typeof page1).members.map((m) => m.user_id)).toEqual(['bob']);
    expect(second.headers.get('link')).toBeNull();
    const byUri = await get(
      `${running.platform.urls.memberships(seed.course.id)}?role=${encodeURIComponent(ROLE.instructor)}`,
    );
    expect(((await byUri.json()) as typeof page1).members.map((m) => m.user_id)).toEqual(['teacher']);
  });

  it('leaves names and email out for a tool without that privacy', async () => {
    const other = await TestTool.start();
    try {
      const registered = running.platform.registerTool(other.registration({ privacy: { name: false, email: false } }));
      const otherToken = await other.accessToken(running.platform, registered.clientId, [SCOPE.membershipReadOnly]);
      const body = (await (await get(running.platform.urls.memberships(seed.course.id), otherToken)).json()) as {
        members: object[];
      };
      expect(body.members[1]).toEqual({ status: 'Active', user_id: 'alice', roles: [ROLE.learner] });
    } finally {
      await other.close();
    }
  });

  it('needs the membership scope, and fails during an outage', async () => {
    const agsOnly = await tool.accessToken(running.platform, seed.clientId, [SCOPE.score]);
    expect((await get(running.platform.urls.memberships(seed.course.id), agsOnly)).status).toBe(403);
    running.platform.failServices({ services: ['nrps'] });
    expect((await get(running.platform.urls.memberships(seed.course.id))).status).toBe(503);
    running.platform.recoverServices();
    expect((await get(running.platform.urls.memberships(seed.course.id))).status).toBe(200);
  });
});
