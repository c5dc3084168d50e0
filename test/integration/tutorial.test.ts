/**
 * Tutorials through the API on the real local runtime (Podman): pages with
 * the instance's values, assets, checks run with exec, ticks, background
 * checks of the open page, one progress event per change, progress across a
 * restart, pause/resume and reset, and the instructor's table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalOf } from '../../server/api/auth.js';
import { loadConfig } from '../../server/config.js';
import type { ProgressEvent } from '../../server/domain/tutorial/progress.js';
import { createLogger } from '../../server/log.js';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { newApiToken } from '../../server/secrets.js';
import { type ServerHandle, startServer } from '../../server/server.js';
import type { ApiAnswer } from '../support/server.js';
import { testMongoUri } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';

const SCOPE = `tut-${process.pid}`;

function labFiles(name: string, keepProgressOnReset: boolean): Record<string, string> {
  const yaml = `name: ${name}
title: Tutorial test lab
systems:
  - name: box
    kind: container
    image: lab-orchestrator/shell
    user: { name: learner, password: generate }
variables: { greeting: "hello there" }
tutorial:
  keepProgressOnReset: ${keepProgressOnReset}
  pages:
    - title: First
      body: pages/01.md
      steps:
        - id: make-file
          text: Create \`/tmp/done\` on \`box\`
          hint: Try \`touch /tmp/done\`.
          points: 2
          check: { system: box, run: "test -f /tmp/done" }
          solution: { system: box, run: "touch /tmp/done" }
        - id: read
          text: Read the page, {{user.name}}
          points: 1
    - title: Second
      body: pages/02.md
      steps:
        - id: second-file
          text: Create \`/tmp/second\`
          points: 1
          check: { system: box, run: "test -f /tmp/second" }
          solution: { system: box, run: "touch /tmp/second" }
`;
  const page1 = `# Hello {{user.name}}

Log in as {{systems.box.user}} with {{systems.box.password}} on {{instance.id}}: {{vars.greeting}}.

![the picture](../assets/pic.svg)

[the configuration](../assets/app.conf)

\`\`\`bash run=box copy
touch /tmp/done
\`\`\`

<img src="../assets/pic.svg" onerror="alert(1)"><script>alert(2)</script>
`;
  return {
    'lab.yaml': yaml,
    'pages/01.md': page1,
    'pages/02.md': '# Second page\n\nMake `/tmp/second`.\n',
    'assets/pic.svg':
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>',
    'assets/app.conf': 'listen 80;\n',
  };
}

interface Running {
  handle: ServerHandle;
  api(token: string | undefined, method: string, url: string, body?: unknown): Promise<ApiAnswer>;
}

const mongoUri = testMongoUri('lo-tutorial');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-tutorial-'));
const config = loadConfig({
  MONGODB_URI: mongoUri,
  PORT: '0',
  DATA_DIR: dataDir,
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  RUNTIME_SCOPE: SCOPE,
});

async function start(): Promise<Running> {
  const handle = await startServer(config, {
    log: createLogger(config.LOG_LEVEL),
    runtime: new LocalRuntime({ scope: SCOPE }),
    reconcile: false,
    lti: false,
  });
  const api: Running['api'] = async (token, method, url, body) => {
    const res = await fetch(`${handle.url}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    const parsed = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return { handle, api };
}

let server: Running;
let events: ProgressEvent[] = [];
const tokens: Record<string, { id: string; token: string }> = {};

async function user(name: string, admin = false) {
  const u = await server.handle.store.users.upsert(`local:${name}`, { name, admin });
  const t = newApiToken();
  await server.handle.store.tokens.create({ userId: u.id, name: 'test', hash: t.hash, prefix: t.prefix });
  tokens[name] = { id: u.id, token: t.token };
  return tokens[name];
}

function listen(s: Running) {
  s.handle.progress.register({
    progressChanged: async (event) => {
      events.push(event);
    },
  });
}

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  server = await start();
  listen(server);
  await user('admin', true);
  await user('Ada <b>Lovelace</b>');
  for (const [name, keep] of [
    ['tut-keep', true],
    ['tut-clear', false],
  ] as const) {
    const created = await server.api(tokens.admin!.token, 'POST', '/api/v1/labs', { files: labFiles(name, keep) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
});

afterAll(async () => {
  for (const i of (await server?.handle.store.instances.list()) ?? []) await server.handle.runtime?.destroy(i.id);
  await server?.handle.store.dropDatabase().catch(() => undefined);
  await server?.handle.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function running(token: string, id: string) {
  return waitFor(`instance ${id} to run`, async () => {
    const res = await server.api(token, 'GET', `/api/v1/instances/${id}`);
    if (res.body.state === 'failed') throw new Error(`failed: ${res.body.reason}`);
    return res.body.state === 'running' ? res.body : undefined;
  });
}

async function startInstance(token: string, lab: string): Promise<string> {
  const created = await server.api(token, 'POST', '/api/v1/instances', { lab });
  expect(created.status).toBe(202);
  await running(token, created.body.id);
  return created.body.id;
}

const learner = () => tokens['Ada <b>Lovelace</b>']!;
let keepId: string;

describe('tutorial of an instance', () => {
  it('renders the pages with the instance values, safely, and serves assets with a strict policy', async () => {
    keepId = await startInstance(learner().token, 'tut-keep');
    const instance = await running(learner().token, keepId);
    const password: string = instance.credentials[0].password;
    const res = await server.api(learner().token, 'GET', `/api/v1/instances/${keepId}/tutorial`);
    expect(res.status).toBe(200);
    const html: string = res.body.pages[0].html;
    expect(html).toContain('Hello Ada &lt;b&gt;Lovelace&lt;/b&gt;');
    expect(html).toContain(`Log in as learner with ${password} on ${keepId}: hello there.`);
    expect(html).toContain('data-action="run" data-system="box"');
    expect(html).not.toMatch(/onerror|<script|alert\(2\)/);
    expect(res.body.pages[0].steps.map((s: { id: string; checked: boolean }) => [s.id, s.checked])).toEqual([
      ['make-file', true],
      ['read', false],
    ]);
    expect(res.body.pages[0].steps[1].html).toBe('Read the page, Ada &lt;b&gt;Lovelace&lt;/b&gt;');
    expect(res.body.progress).toMatchObject({ stepsDone: 0, stepsTotal: 3, pointsPossible: 4, score: 0 });

    const src = /<img src="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    expect(src).toMatch(/^\/api\/v1\/labs\/tut-keep\/versions\/1\/assets\/pic\.svg\?access=[\w-]+$/);
    const image = await fetch(`${server.handle.url}${src}`); // as an <img>: no Bearer token
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/svg+xml');
    expect(image.headers.get('x-content-type-options')).toBe('nosniff');
    expect(image.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
    const base = `${server.handle.url}/api/v1/labs/tut-keep/versions/1/assets`;
    expect((await fetch(`${base}/pic.svg`)).status).toBe(401);
    expect((await fetch(`${base}/pic.svg?access=forged`)).status).toBe(401);
    const access = new URL(src, server.handle.url).searchParams.get('access');
    expect((await fetch(`${base}/../lab.yaml?access=${access}`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/lab.yaml?access=${access}`)).status).toBe(404);
    const conf = await fetch(`${base}/app.conf?access=${access}`);
    expect(conf.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(conf.headers.get('content-disposition')).toMatch(/^attachment/);
    // Another version's signature does not open this one.
    expect((await fetch(`${base.replace('/versions/1/', '/versions/2/')}/pic.svg?access=${access}`)).status).toBe(401);
  });

  it('a check fails with the hint before the work, passes after it, and emits one event per change', async () => {
    events = [];
    const check = (step: string) =>
      server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/tutorial/steps/${step}/check`);
    const before = await check('make-file');
    expect(before.status).toBe(200);
    expect(before.body.outcome).toMatchObject({ passed: false, message: 'not done yet (the check exited with 1)' });
    expect(before.body.outcome.hintHtml).toBe('Try <code>touch /tmp/done</code>.');
    expect(before.body.state).toMatchObject({ done: false, attempts: 1 });
    expect(events).toHaveLength(0);
    const shown = await server.api(learner().token, 'GET', `/api/v1/instances/${keepId}/tutorial`);
    expect(shown.body.pages[0].steps[0].hintHtml).toBe('Try <code>touch /tmp/done</code>.');

    expect((await server.handle.runtime!.exec(keepId, 'box', ['touch', '/tmp/done'])).exitCode).toBe(0);
    const after = await check('make-file');
    expect(after.body.outcome.passed).toBe(true);
    expect(after.body.state).toMatchObject({ done: true, by: 'check', attempts: 2 });
    expect(after.body.progress).toMatchObject({ stepsDone: 1, pointsEarned: 2, score: 0.5 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      instanceId: keepId,
      userId: learner().id,
      labName: 'tut-keep',
      labVersion: 1,
      score: 0.5,
      scoreGiven: 2,
      scoreMaximum: 4,
      activityProgress: 'InProgress',
      gradingProgress: 'FullyGraded',
    });
    // Checked again: an attempt, no change of progress, no event.
    expect((await check('make-file')).body.state.attempts).toBe(3);
    expect(events).toHaveLength(1);

    const tick = (step: string, done: boolean) =>
      server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/tutorial/steps/${step}/tick`, { done });
    expect((await tick('read', true)).body.steps.read).toMatchObject({ done: true, by: 'tick' });
    expect((await tick('read', true)).status).toBe(200);
    expect(events).toHaveLength(2);
    expect((await tick('read', false)).body.progress.stepsDone).toBe(1);
    expect(events.map((e) => e.scoreGiven)).toEqual([2, 3, 2]);
    const refused = await tick('make-file', false);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/checked automatically/);
    expect((await check('read')).status).toBe(400);
    expect((await check('no-such-step')).status).toBe(404);
    expect((await tick('read', true)).body.progress.score).toBe(0.75);
    expect(events).toHaveLength(4);
  });

  it('checks the open page in the background, so a step turns done after the work in the terminal', async () => {
    events = [];
    const open = await server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/tutorial/open`, { page: 1 });
    expect(open.status).toBe(200);
    expect(open.body.steps['second-file']).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1500)); // a failing background check changes nothing
    expect(events).toHaveLength(0);
    expect((await server.handle.runtime!.exec(keepId, 'box', ['touch', '/tmp/second'])).exitCode).toBe(0);
    const done = await waitFor(
      'the background check',
      async () => {
        const res = await server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/tutorial/open`, {
          page: 1,
        });
        return res.body.steps['second-file']?.done ? res.body : undefined;
      },
      30,
    );
    expect(done.steps['second-file']).toMatchObject({ by: 'check', attempts: 0 });
    expect(done.progress).toMatchObject({ stepsDone: 3, score: 1 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ score: 1, activityProgress: 'Completed' });
    expect(
      (await server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/tutorial/open`, { page: 7 })).status,
    ).toBe(400);
  });

  it('keeps progress across pause/resume, a server restart, and a reset of a lab that keeps it', async () => {
    const progressOf = async (s: Running) =>
      (await s.api(learner().token, 'GET', `/api/v1/instances/${keepId}/tutorial/progress`)).body;
    const before = await progressOf(server);
    expect(before.progress.stepsDone).toBe(3);
    await server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/pause`);
    await server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/resume`);
    expect(await progressOf(server)).toEqual(before);

    await server.handle.close();
    server = await start();
    listen(server);
    events = [];
    expect(await progressOf(server)).toEqual(before);
    const page = await server.api(learner().token, 'GET', `/api/v1/instances/${keepId}/tutorial`);
    expect(page.body.pages[0].steps[0].state.done).toBe(true);

    const reset = await server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/reset`);
    expect(reset.status).toBe(202);
    await running(learner().token, keepId);
    expect((await progressOf(server)).progress).toEqual(before.progress);
    expect(events).toHaveLength(0);
  });

  it('clears progress on reset when the lab says so, with one event', async () => {
    const id = await startInstance(learner().token, 'tut-clear');
    await server.handle.runtime!.exec(id, 'box', ['touch', '/tmp/done']);
    events = [];
    const checked = await server.api(learner().token, 'POST', `/api/v1/instances/${id}/tutorial/steps/make-file/check`);
    expect(checked.body.progress.stepsDone).toBe(1);
    expect(events).toHaveLength(1);
    await server.api(learner().token, 'POST', `/api/v1/instances/${id}/reset`);
    await running(learner().token, id);
    const after = await server.api(learner().token, 'GET', `/api/v1/instances/${id}/tutorial/progress`);
    expect(after.body.steps).toEqual({});
    expect(after.body.progress).toMatchObject({ stepsDone: 0, score: 0 });
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ instanceId: id, score: 0, activityProgress: 'Started' });
    await server.api(learner().token, 'POST', `/api/v1/instances/${id}/stop`);
  });

  it('sends an event again when a listener failed, also after a restart', async () => {
    events = [];
    const remove = server.handle.progress.register({
      progressChanged: async () => {
        throw new Error('the grade outbox is down');
      },
    });
    const tick = await server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/tutorial/steps/read/tick`, {
      done: false,
    });
    expect(tick.status).toBe(200); // the learner's tick is stored all the same
    expect(events).toHaveLength(1);
    expect(await server.handle.store.progress.undelivered()).toEqual([{ instanceId: keepId, userId: learner().id }]);
    remove();

    await server.handle.close(); // as if the process stopped before the event was delivered
    server = await start();
    events = [];
    listen(server);
    await waitFor('the event sent again', async () => (events.length > 0 ? true : undefined), 15);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ instanceId: keepId, scoreGiven: 3, stepsDone: 2 });
    expect(await server.handle.store.progress.undelivered()).toEqual([]);
    await server.api(learner().token, 'POST', `/api/v1/instances/${keepId}/tutorial/steps/read/tick`, { done: true });
    expect(events).toHaveLength(2);
    expect(await server.handle.store.progress.undelivered()).toEqual([]);
  });

  it('gives instructors of the course a progress table and CSV; learners and other instructors are refused', async () => {
    const store = server.handle.store;
    const course = await store.users.upsertCourse('local:net-101', 'Networks 101');
    const other = await store.users.upsertCourse('local:other', 'Other course');
    const teacher = await user('teacher');
    const stranger = await user('stranger');
    const student = await user('student, "the =first"');
    await store.users.setMembership(course.id, teacher.id, 'instructor');
    await store.users.setMembership(course.id, student.id, 'learner');
    await store.users.setMembership(other.id, stranger.id, 'instructor');
    const principal = await principalOf(store, (await store.users.get(student.id))!);
    const assignment = await store.assignments.upsert('local:net-101-lab', {
      courseId: course.id,
      title: 'Lab 1',
      labName: 'tut-keep',
    });
    const instance = await server.handle.lifecycle.create(principal, {
      lab: 'tut-keep',
      courseId: course.id,
      assignmentId: assignment.id,
    });
    await running(student.token, instance.id);
    await server.api(student.token, 'POST', `/api/v1/instances/${instance.id}/tutorial/steps/read/tick`, {
      done: true,
    });

    const table = await server.api(teacher.token, 'GET', `/api/v1/progress?course=${course.id}`);
    expect(table.status).toBe(200);
    expect(table.body.columns.map((c: { id: string }) => c.id)).toEqual(['make-file', 'read', 'second-file']);
    expect(table.body.rows).toHaveLength(1);
    expect(table.body.rows[0]).toMatchObject({
      learner: { id: student.id, name: 'student, "the =first"' },
      instanceId: instance.id,
      state: 'running',
      score: 0.25,
      steps: { 'make-file': false, read: true, 'second-file': false },
    });
    expect(Date.parse(table.body.rows[0].lastActivityAt)).not.toBeNaN();

    const csv = await server.api(teacher.token, 'GET', `/api/v1/progress?course=${course.id}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const lines = csv.body.toString('utf8').trim().split('\r\n');
    expect(lines[0]).toBe(
      'learner,learner_id,instance,lab,version,state,last_activity,score,steps_done,steps_total,make-file,read,second-file',
    );
    expect(lines[1]).toMatch(
      new RegExp(`^"student, ""the =first""",${student.id},${instance.id},tut-keep,1,running,[^,]+,0.25,1,3,0,1,0$`),
    );

    const byAssignment = await server.api(teacher.token, 'GET', `/api/v1/progress?assignment=${assignment.id}`);
    expect(byAssignment.body.rows.map((r: { instanceId: string }) => r.instanceId)).toEqual([instance.id]);
    expect((await server.api(stranger.token, 'GET', `/api/v1/progress?assignment=${assignment.id}`)).status).toBe(403);
    expect(
      (await server.api(teacher.token, 'GET', '/api/v1/progress?assignment=000000000000000000000000')).status,
    ).toBe(404);
    expect((await server.api(student.token, 'GET', `/api/v1/progress?course=${course.id}`)).status).toBe(403);
    expect((await server.api(stranger.token, 'GET', `/api/v1/progress?course=${course.id}`)).status).toBe(403);
    expect((await server.api(student.token, 'GET', '/api/v1/progress?lab=tut-keep')).status).toBe(403);
    // The stranger instructs another course: the lab's table holds none of this course's learners.
    expect((await server.api(stranger.token, 'GET', '/api/v1/progress?lab=tut-keep')).body.rows).toEqual([]);
    const admin = await server.api(tokens.admin!.token, 'GET', '/api/v1/progress?lab=tut-keep');
    expect(admin.body.rows.map((r: { instanceId: string }) => r.instanceId)).toContain(keepId);
    // A learner cannot reach another learner's tutorial.
    expect((await server.api(student.token, 'GET', `/api/v1/instances/${keepId}/tutorial`)).status).toBe(404);
    expect((await server.api(teacher.token, 'GET', `/api/v1/instances/${instance.id}/tutorial`)).status).toBe(200);
  });

  it('describes the tutorial routes in the OpenAPI document', async () => {
    const doc = await server.api(undefined, 'GET', '/api/v1/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/instances/{id}/tutorial',
        '/api/v1/instances/{id}/tutorial/steps/{step}/check',
        '/api/v1/instances/{id}/tutorial/open',
        '/api/v1/labs/{name}/versions/{version}/assets/{path}',
        '/api/v1/progress',
      ]),
    );
    const assets = doc.body.paths['/api/v1/labs/{name}/versions/{version}/assets/{path}'].get;
    expect(assets.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'path:name',
      'path:version',
      'path:path',
      'query:access',
    ]);
  });

  it('lets only admins mark a lab trusted', async () => {
    const put = (token: string, trusted: boolean) =>
      server.api(token, 'PUT', '/api/v1/labs/tut-keep/trusted', { trusted });
    expect((await put(learner().token, true)).status).toBe(403);
    expect((await put(tokens.admin!.token, true)).body).toEqual({ name: 'tut-keep', trusted: true });
    const page = await server.api(learner().token, 'GET', `/api/v1/instances/${keepId}/tutorial`);
    expect(page.body.lab.trusted).toBe(true);
    expect((await server.api(tokens.admin!.token, 'PUT', '/api/v1/labs/nope/trusted', { trusted: true })).status).toBe(
      404,
    );
  });
});
