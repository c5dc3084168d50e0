import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningPlatform, startPlatform } from './platform.js';
import { seedCourse, TestTool } from './testTool.js';
import { MEDIA_TYPE, SCOPE } from './vocabulary.js';

let running: RunningPlatform;
let tool: TestTool;
let seed: ReturnType<typeof seedCourse>;
let token: string;
let itemUrl: string;

beforeAll(async () => {
  running = await startPlatform();
  tool = await TestTool.start();
  seed = seedCourse(running.platform, tool);
  token = await tool.accessToken(running.platform, seed.clientId, [SCOPE.lineItem, SCOPE.score, SCOPE.resultReadOnly]);
  itemUrl = running.platform.urls.lineItem(seed.course.id, seed.lineItem.id);
});
afterAll(async () => {
  await running?.close();
  await tool?.close();
});

const auth = (t = token) => ({ authorization: `Bearer ${t}` });

let clock = Date.parse('2026-01-01T00:00:00Z');
/** Timestamps one second apart, as Moodle needs. */
const nextTimestamp = () => {
  clock += 1000;
  return new Date(clock).toISOString();
};

function postScore(score: Record<string, unknown>, url = itemUrl, contentType: string = MEDIA_TYPE.score) {
  return fetch(`${url}/scores`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': contentType },
    body: JSON.stringify(score),
  });
}

const fullyGraded = (userId: string, scoreGiven: number, extra: Record<string, unknown> = {}) => ({
  userId,
  scoreGiven,
  scoreMaximum: 4,
  activityProgress: 'Completed',
  gradingProgress: 'FullyGraded',
  timestamp: nextTimestamp(),
  ...extra,
});

describe('line items', () => {
  it('lists the tool line items as a container, filtered by resource link', async () => {
    const res = await fetch(`${running.platform.urls.lineItems(seed.course.id)}?resource_link_id=${seed.link.id}`, {
      headers: { ...auth(), accept: MEDIA_TYPE.lineItemContainer },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(MEDIA_TYPE.lineItemContainer);
    expect(await res.json()).toEqual([
      { id: itemUrl, label: 'Reach the server', scoreMaximum: 10, resourceLinkId: seed.link.id },
    ]);
  });

  it('creates, reads, updates and deletes a line item', async () => {
    const created = await fetch(running.platform.urls.lineItems(seed.course.id), {
      method: 'POST',
      headers: { ...auth(), 'content-type': MEDIA_TYPE.lineItem },
      body: JSON.stringify({ label: 'Bonus', scoreMaximum: 5, tag: 'bonus', resourceId: 'lab-1' }),
    });
    expect(created.status).toBe(201);
    const item = (await created.json()) as { id: string };
    expect(item).toMatchObject({ label: 'Bonus', scoreMaximum: 5, tag: 'bonus', resourceId: 'lab-1' });
    expect(item.id).toMatch(new RegExp(`^${running.platform.urls.lineItems(seed.course.id)}/`));

    const byTag = await fetch(`${running.platform.urls.lineItems(seed.course.id)}?tag=bonus`, { headers: auth() });
    expect(((await byTag.json()) as unknown[]).length).toBe(1);

    const put = await fetch(item.id, {
      method: 'PUT',
      headers: { ...auth(), 'content-type': MEDIA_TYPE.lineItem },
      body: JSON.stringify({ id: item.id, label: 'Bonus points', scoreMaximum: 6 }),
    });
    expect(put.status).toBe(200);
    expect(await (await fetch(item.id, { headers: auth() })).json()).toMatchObject({
      label: 'Bonus points',
      scoreMaximum: 6,
    });

    expect((await fetch(item.id, { method: 'DELETE', headers: auth() })).status).toBe(204);
    expect((await fetch(item.id, { headers: auth() })).status).toBe(404);
  });

  it('refuses a line item without label or with a bad scoreMaximum, naming the field', async () => {
    const res = await fetch(running.platform.urls.lineItems(seed.course.id), {
      method: 'POST',
      headers: { ...auth(), 'content-type': MEDIA_TYPE.lineItem },
      body: JSON.stringify({ scoreMaximum: 0 }),
    });
    expect(res.status).toBe(400);
    const { error_description } = (await res.json()) as { error_description: string };
    expect(error_description).toContain('scoreMaximum');
    expect(error_description).toContain('label');
  });

  it('pages the container with a Link header', async () => {
    for (const label of ['p1', 'p2', 'p3'])
      running.platform.addLineItem({
        label,
        scoreMaximum: 1,
        courseId: seed.course.id,
        clientId: seed.clientId,
        tag: 'paged',
      });
    const first = await fetch(`${running.platform.urls.lineItems(seed.course.id)}?tag=paged&limit=2`, {
      headers: auth(),
    });
    expect(((await first.json()) as unknown[]).length).toBe(2);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1];
    expect(next).toContain('page=2');
    const second = await fetch(next!, { headers: auth() });
    expect(((await second.json()) as Array<{ label: string }>).map((i) => i.label)).toEqual(['p3']);
    expect(second.headers.get('link')).toBeNull();
  });

  it('hides line items of other tools', async () => {
    const other = await TestTool.start();
    try {
      const registered = running.platform.registerTool(other.registration());
      const otherToken = await other.accessToken(running.platform, registered.clientId, [SCOPE.lineItem]);
      expect((await fetch(itemUrl, { headers: auth(otherToken) })).status).toBe(404);
      const list = await fetch(running.platform.urls.lineItems(seed.course.id), { headers: auth(otherToken) });
      expect(await list.json()).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('needs a valid token with the right scope', async () => {
    expect((await fetch(itemUrl)).status).toBe(401);
    expect((await fetch(itemUrl, { headers: auth('forged') })).status).toBe(401);
    const scoreOnly = await tool.accessToken(running.platform, seed.clientId, [SCOPE.score]);
    const res = await fetch(itemUrl, { headers: auth(scoreOnly) });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('insufficient_scope');
  });
});

describe('scores and the gradebook', () => {
  beforeEach(() => running.platform.recoverServices());

  it('records a FullyGraded score rescaled to the line item maximum, and serves it as a result', async () => {
    const res = await postScore(fullyGraded('alice', 3, { comment: 'well done' }));
    expect(res.status).toBe(204);
    expect(running.platform.grade(seed.lineItem.id, 'alice')).toMatchObject({
      grade: 7.5,
      score: { scoreGiven: 3, scoreMaximum: 4 },
    });

    const results = await fetch(`${itemUrl}/results?user_id=alice`, { headers: auth() });
    expect(results.headers.get('content-type')).toContain(MEDIA_TYPE.resultContainer);
    expect(await results.json()).toEqual([
      {
        id: `${itemUrl}/results/alice`,
        scoreOf: itemUrl,
        userId: 'alice',
        resultScore: 7.5,
        resultMaximum: 10,
        comment: 'well done',
      },
    ]);
  });

  it('refuses a timestamp not later (in whole seconds) than the stored one with 409, like Moodle', async () => {
    const first = fullyGraded('bob', 1);
    expect((await postScore(first)).status).toBe(204);
    const sameSecond = {
      ...first,
      scoreGiven: 2,
      timestamp: new Date(Date.parse(first.timestamp) + 500).toISOString(),
    };
    const conflict = await postScore(sameSecond);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error_description: string }).error_description).toContain('not later');
    const older = await postScore({ ...first, scoreGiven: 2, timestamp: '2025-01-01T00:00:00Z' });
    expect(older.status).toBe(409);
    expect(running.platform.grade(seed.lineItem.id, 'bob')?.grade).toBe(2.5);
    expect(running.platform.store.scoreAttempts.filter((a) => a.status === 409)).toHaveLength(2);
  });

  it('refuses a teacher or an unknown user as userId', async () => {
    const teacher = await postScore(fullyGraded('teacher', 1));
    expect(teacher.status).toBe(400);
    expect(((await teacher.json()) as { error_description: string }).error_description).toContain('not a learner');
    expect((await postScore(fullyGraded('nobody', 1))).status).toBe(400);
    expect(running.platform.grade(seed.lineItem.id, 'teacher')).toBeUndefined();
  });

  it.each([
    ['scoreGiven without scoreMaximum', { scoreMaximum: undefined }, 'scoreMaximum'],
    ['no timestamp', { timestamp: undefined }, 'timestamp'],
    ['a timestamp without a time zone', { timestamp: '2027-01-01T00:00:00' }, 'timestamp'],
    ['no activityProgress', { activityProgress: undefined }, 'activityProgress'],
    ['an unknown gradingProgress', { gradingProgress: 'Done' }, 'gradingProgress'],
    ['no userId', { userId: undefined }, 'userId'],
    ['a negative scoreGiven', { scoreGiven: -1 }, 'scoreGiven'],
  ])('refuses a score with %s, naming the field', async (_name, change, field) => {
    const res = await postScore({ ...fullyGraded('alice', 1), ...change });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toContain(field);
  });

  it('refuses a score that is not application/vnd.ims.lis.v1.score+json', async () => {
    expect((await postScore(fullyGraded('alice', 1), itemUrl, 'application/json')).status).toBe(415);
  });

  it('records progress without a grade unless FullyGraded (Moodle)', async () => {
    expect(
      (await postScore({ ...fullyGraded('alice', 2), gradingProgress: 'Pending', activityProgress: 'InProgress' }))
        .status,
    ).toBe(204);
    expect(running.platform.grade(seed.lineItem.id, 'alice')).toMatchObject({
      grade: null,
      score: { activityProgress: 'InProgress' },
    });
    const results = (await (await fetch(`${itemUrl}/results?user_id=alice`, { headers: auth() })).json()) as object[];
    expect(results[0]).not.toHaveProperty('resultScore');
    expect(
      (
        await postScore({
          userId: 'alice',
          activityProgress: 'Completed',
          gradingProgress: 'FullyGraded',
          timestamp: nextTimestamp(),
        })
      ).status,
    ).toBe(204);
    expect(running.platform.grade(seed.lineItem.id, 'alice')?.grade).toBeNull();
  });

  it('answers 503 during a simulated outage for a number of requests, then accepts again', async () => {
    running.platform.failServices({ services: ['ags'], times: 2 });
    const score = fullyGraded('alice', 4);
    expect((await postScore(score)).status).toBe(503);
    expect((await postScore(score)).status).toBe(503);
    expect((await postScore(score)).status).toBe(204);
    expect(running.platform.refusedByOutage().ags).toBe(2);
    expect(running.platform.grade(seed.lineItem.id, 'alice')?.grade).toBe(10);
  });

  it('drops the connection when asked to look unreachable', async () => {
    running.platform.failServices({ services: ['ags'], drop: true, times: 1 });
    await expect(postScore(fullyGraded('bob', 3))).rejects.toThrow();
    expect((await postScore(fullyGraded('bob', 3))).status).toBe(204);
  });

  it('refuses an expired access token', async () => {
    const fresh = await tool.accessToken(running.platform, seed.clientId, [SCOPE.score]);
    running.platform.expireAccessTokens();
    const res = await fetch(`${itemUrl}/scores`, {
      method: 'POST',
      headers: { ...auth(fresh), 'content-type': MEDIA_TYPE.score },
      body: JSON.stringify(fullyGraded('alice', 1)),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error_description: string }).error_description).toContain('expired');
    token = await tool.accessToken(running.platform, seed.clientId, [
      SCOPE.lineItem,
      SCOPE.score,
      SCOPE.resultReadOnly,
    ]);
  });
});

describe('scores on the Canvas flavour', () => {
  let canvas: RunningPlatform;
  let canvasSeed: ReturnType<typeof seedCourse>;
  let canvasToken: string;
  let canvasItemUrl: string;
  beforeAll(async () => {
    canvas = await startPlatform({ flavour: 'canvas' });
    canvasSeed = seedCourse(canvas.platform, tool);
    canvasToken = await tool.accessToken(canvas.platform, canvasSeed.clientId, [SCOPE.score]);
    canvasItemUrl = canvas.platform.urls.lineItem(canvasSeed.course.id, canvasSeed.lineItem.id);
  });
  afterAll(() => canvas?.close());

  const post = (score: object) =>
    fetch(`${canvasItemUrl}/scores`, {
      method: 'POST',
      headers: { authorization: `Bearer ${canvasToken}`, 'content-type': MEDIA_TYPE.score },
      body: JSON.stringify(score),
    });

  it('refuses a teacher with 422, an older timestamp with 400, and takes two scores in one second', async () => {
    const base = { scoreMaximum: 1, activityProgress: 'Completed', gradingProgress: 'FullyGraded' };
    expect(
      (await post({ ...base, userId: 'teacher', scoreGiven: 1, timestamp: '2026-02-01T00:00:00.100Z' })).status,
    ).toBe(422);
    expect(
      (await post({ ...base, userId: 'alice', scoreGiven: 0.5, timestamp: '2026-02-01T00:00:00.100Z' })).status,
    ).toBe(204);
    expect(
      (await post({ ...base, userId: 'alice', scoreGiven: 0.6, timestamp: '2026-02-01T00:00:00.200Z' })).status,
    ).toBe(204);
    expect(
      (await post({ ...base, userId: 'alice', scoreGiven: 0.1, timestamp: '2026-02-01T00:00:00.150Z' })).status,
    ).toBe(400);
    expect(canvas.platform.grade(canvasSeed.lineItem.id, 'alice')?.grade).toBe(6);
  });

  it('records a grade for PendingManual too', async () => {
    const res = await post({
      userId: 'bob',
      scoreGiven: 1,
      scoreMaximum: 2,
      activityProgress: 'Submitted',
      gradingProgress: 'PendingManual',
      timestamp: new Date().toISOString(),
    });
    expect(res.status).toBe(204);
    expect(canvas.platform.grade(canvasSeed.lineItem.id, 'bob')?.grade).toBe(5);
  });
});
