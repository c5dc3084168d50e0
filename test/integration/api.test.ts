/**
 * The REST API over HTTP against a real server and FerretDB: labs (CRUD,
 * versions, import/export), authorization by role, tokens, audit.
 */

import AdmZip from 'adm-zip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabFolder } from '../../server/domain/lab/bundle.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let labFiles: Record<string, string>;
let instructor: { id: string; token: string };
let learner: { id: string; token: string };
let otherLearner: { id: string; token: string };
let courseId: string;

beforeAll(async () => {
  server = await startTestServer({ runtime: null });
  const read = await readLabFolder('labs/net-basics');
  if (!read.ok) throw new Error('example lab unreadable');
  labFiles = Object.fromEntries([...read.bundle.files].map(([p, c]) => [p, c.toString('utf8')]));
  instructor = await server.user('teacher');
  learner = await server.user('learner');
  otherLearner = await server.user('other');
  const course = await server.api(server.adminToken, 'POST', '/api/v1/courses', { title: 'Networks 101' });
  expect(course.status).toBe(201);
  courseId = course.body.id;
  for (const [u, role] of [
    [instructor, 'instructor'],
    [learner, 'learner'],
    [otherLearner, 'learner'],
  ] as const) {
    const res = await server.api(server.adminToken, 'PUT', `/api/v1/courses/${courseId}/members/${u.id}`, { role });
    expect(res.status).toBe(200);
  }
});
afterAll(async () => server?.stop());

const withTitle = (title: string) => ({
  ...labFiles,
  'lab.yaml': labFiles['lab.yaml']!.replace(/^title: .*$/m, `title: ${title}`),
});

describe('without credentials', () => {
  it('serves the OpenAPI document and health, refuses the API with 401', async () => {
    const doc = await server.api(undefined, 'GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/labs', '/api/v1/instances/{id}', '/api/v1/tokens']),
    );
    expect(
      doc.body.paths['/api/v1/labs'].post.requestBody.content['application/json'].schema.properties.files,
    ).toBeTruthy();
    expect((await server.api(undefined, 'GET', '/readyz')).body).toMatchObject({ database: true });
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    expect(metrics).toContain('lab_orchestrator_instances{state="running"}');
    const refused = await server.api(undefined, 'GET', '/api/v1/labs');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toMatch(/Bearer/);
    expect((await server.api('lo_not-a-real-token', 'GET', '/api/v1/labs')).status).toBe(401);
  });
});

describe('labs', () => {
  it('refuses a learner creating a lab with 403 and stores nothing', async () => {
    const res = await server.api(learner.token, 'POST', '/api/v1/labs', { files: labFiles });
    expect(res.status).toBe(403);
    expect((await server.api(learner.token, 'GET', '/api/v1/labs')).body).toEqual([]);
  });

  it('creates a lab from JSON files, then refuses the same name with 409', async () => {
    const res = await server.api(instructor.token, 'POST', '/api/v1/labs', { files: labFiles });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ name: 'net-basics', version: 1, changed: true });
    const again = await server.api(instructor.token, 'POST', '/api/v1/labs', { files: labFiles });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/exists already/);
    const list = await server.api(learner.token, 'GET', '/api/v1/labs');
    expect(list.body.map((l: { name: string }) => l.name)).toEqual(['net-basics']);
    const one = await server.api(learner.token, 'GET', '/api/v1/labs/net-basics');
    expect(one.body.definition.systems.map((s: { name: string }) => s.name)).toEqual(['client', 'server']);
    expect(one.body.definition.limits.ttl).toBeGreaterThan(0);
  });

  it('versions: a change makes a new version, the same files make none, the old one stays', async () => {
    const changed = await server.api(instructor.token, 'POST', '/api/v1/labs/net-basics/versions', {
      files: withTitle('Networking, second edition'),
    });
    expect(changed.status).toBe(201);
    expect(changed.body).toMatchObject({ version: 2, changed: true });
    const same = await server.api(instructor.token, 'POST', '/api/v1/labs/net-basics/versions', {
      files: withTitle('Networking, second edition'),
    });
    expect(same.body).toMatchObject({ version: 2, changed: false });
    const v1 = await server.api(learner.token, 'GET', '/api/v1/labs/net-basics/versions/1');
    expect(v1.body.definition.title).not.toBe('Networking, second edition');
    const versions = await server.api(learner.token, 'GET', '/api/v1/labs/net-basics/versions');
    expect(versions.body.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    const wrongName = await server.api(instructor.token, 'POST', '/api/v1/labs/other-name/versions', {
      files: labFiles,
    });
    expect(wrongName.status).toBe(400);
  });

  it('another instructor cannot change a lab they do not own', async () => {
    const stranger = await server.user('stranger-teacher');
    const course = await server.api(server.adminToken, 'POST', '/api/v1/courses', { title: 'Other course' });
    await server.api(server.adminToken, 'PUT', `/api/v1/courses/${course.body.id}/members/${stranger.id}`, {
      role: 'instructor',
    });
    const res = await server.api(stranger.token, 'POST', '/api/v1/labs/net-basics/versions', {
      files: withTitle('Hijacked'),
    });
    expect(res.status).toBe(403);
  });

  it('exports a zip that imports back to the same lab', async () => {
    const zip = await server.api(learner.token, 'GET', '/api/v1/labs/net-basics/export?version=1');
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-type')).toMatch(/zip/);
    const entries = new AdmZip(zip.body).getEntries().map((e) => e.entryName);
    expect(entries).toEqual(expect.arrayContaining(Object.keys(labFiles)));
    const valid = await server.api(instructor.token, 'POST', '/api/v1/labs/validate', zip.body, {
      'content-type': 'application/zip',
    });
    expect(valid.body).toEqual({ valid: true, problems: [] });
    const back = await server.api(instructor.token, 'POST', '/api/v1/labs/net-basics/versions', zip.body, {
      'content-type': 'application/zip',
    });
    expect(back.status).toBe(201);
    expect(back.body.version).toBe(3); // v1's files again, after v2: a new version equal to v1
    const v3 = await server.api(learner.token, 'GET', '/api/v1/labs/net-basics/versions/3');
    const v1 = await server.api(learner.token, 'GET', '/api/v1/labs/net-basics/versions/1');
    expect(v3.body.definition).toEqual(v1.body.definition);
  });

  it('refuses bad YAML and a bad lab with every problem listed, storing nothing', async () => {
    const before = await server.api(server.adminToken, 'GET', '/api/v1/labs');
    const badYaml = await server.api(server.adminToken, 'POST', '/api/v1/labs', 'name: [unclosed\ntitle: x\n', {
      'content-type': 'application/yaml',
    });
    expect(badYaml.status).toBe(400);
    expect(badYaml.body.error.problems[0].path).toMatch(/^lab\.yaml:\d+/);
    const badLab = await server.api(server.adminToken, 'POST', '/api/v1/labs', {
      files: {
        'lab.yaml':
          'name: broken-lab\ntitle: Broken\nsystems:\n  - name: a\n    kind: container\n    image: x\n    consoles: [terminal, tv]\n',
      },
    });
    expect(badLab.status).toBe(400);
    expect(badLab.body.error.problems).toContainEqual({
      path: 'lab.yaml:7 systems[0].consoles[1]',
      message: 'expected "terminal" or "desktop"',
    });
    const badZip = await server.api(server.adminToken, 'POST', '/api/v1/labs', Buffer.from('not a zip at all'), {
      'content-type': 'application/zip',
    });
    expect(badZip.status).toBe(400);
    expect(badZip.body.error.problems.length).toBeGreaterThan(0);
    const noFiles = await server.api(server.adminToken, 'POST', '/api/v1/labs', { nothing: true });
    expect(noFiles.status).toBe(400);
    expect(noFiles.body.error.problems[0].path).toBe('body.files');
    expect((await server.api(server.adminToken, 'GET', '/api/v1/labs')).body).toEqual(before.body);
  });
});

describe('instances', () => {
  it('answers 501 with a clear message when no runtime is configured', async () => {
    const res = await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'net-basics' });
    expect(res.status).toBe(501);
    expect(res.body.error.message).toMatch(/no runtime is configured/);
  });

  it("hides a learner's instance from other learners (404) and shows it to the owner and the course's instructor", async () => {
    const record = await server.store.instances.create({
      id: 'itestinstance1',
      ownerId: learner.id,
      labName: 'net-basics',
      labVersion: 1,
      courseId,
      credentials: [],
    });
    const url = `/api/v1/instances/${record.id}`;
    expect((await server.api(learner.token, 'GET', url)).status).toBe(200);
    expect((await server.api(instructor.token, 'GET', url)).status).toBe(200);
    expect((await server.api(server.adminToken, 'GET', url)).status).toBe(200);
    const other = await server.api(otherLearner.token, 'GET', url);
    expect(other.status).toBe(404);
    expect((await server.api(otherLearner.token, 'POST', `${url}/stop`)).status).toBe(404);
    expect((await server.api(otherLearner.token, 'DELETE', url)).status).toBe(404);
    expect((await server.api(otherLearner.token, 'GET', '/api/v1/instances')).body).toEqual([]);
    const mine = await server.api(learner.token, 'GET', '/api/v1/instances');
    expect(mine.body.map((i: { id: string }) => i.id)).toEqual([record.id]);
    const teachers = await server.api(instructor.token, 'GET', '/api/v1/instances');
    expect(teachers.body.map((i: { id: string }) => i.id)).toEqual([record.id]);
    // mine=1: only the caller's own (the home page's "Your labs"; course instances are on the progress page).
    expect((await server.api(instructor.token, 'GET', '/api/v1/instances?mine=1')).body).toEqual([]);
    expect((await server.api(server.adminToken, 'GET', '/api/v1/instances?mine=1')).body).toEqual([]);
    const ownOnly = await server.api(learner.token, 'GET', '/api/v1/instances?mine=1');
    expect(ownOnly.body.map((i: { id: string }) => i.id)).toEqual([record.id]);
    const badMine = await server.api(learner.token, 'GET', '/api/v1/instances?mine=yes');
    expect(badMine.status).toBe(400);
    expect(badMine.body.error.problems[0].path).toBe('query.mine');
    expect((await server.api(learner.token, 'POST', `${url}/explode`)).status).toBe(404);
  });

  it('refuses a lab that is in use from being deleted', async () => {
    const res = await server.api(instructor.token, 'DELETE', '/api/v1/labs/net-basics');
    expect(res.status).toBe(409);
  });
});

describe('users and tokens', () => {
  it('shows the caller and their roles, and lists users only for admins', async () => {
    const me = await server.api(learner.token, 'GET', '/api/v1/users/me');
    expect(me.body).toMatchObject({ name: 'learner', admin: false, memberships: [{ courseId, role: 'learner' }] });
    expect((await server.api(learner.token, 'GET', '/api/v1/users')).status).toBe(403);
    expect((await server.api(server.adminToken, 'GET', '/api/v1/users')).body.length).toBeGreaterThanOrEqual(4);
    const bad = await server.api(server.adminToken, 'POST', '/api/v1/users', { username: 'X!', name: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.problems.map((p: { path: string }) => p.path)).toEqual(['body.username', 'body.name']);
  });

  it('creates a token shown once, lists it without the secret, and refuses it once revoked', async () => {
    const created = await server.api(learner.token, 'POST', '/api/v1/tokens', { name: 'laptop' });
    expect(created.status).toBe(201);
    const token: string = created.body.token;
    expect(token).toMatch(/^lo_/);
    expect((await server.api(token, 'GET', '/api/v1/users/me')).body.name).toBe('learner');
    const list = await server.api(learner.token, 'GET', '/api/v1/tokens');
    expect(JSON.stringify(list.body)).not.toContain(token);
    expect(list.body.map((t: { name: string }) => t.name)).toContain('laptop');
    expect((await server.api(otherLearner.token, 'DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(404);
    expect((await server.api(learner.token, 'DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(204);
    const revoked = await server.api(token, 'GET', '/api/v1/users/me');
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toMatch(/revoked/);
    expect((await server.api(learner.token, 'POST', '/api/v1/tokens', { userId: instructor.id })).status).toBe(403);
  });

  it('records mutations in the audit log', async () => {
    const events = await server.store.audit.list();
    const actions = events.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['lab.create', 'lab.version', 'course.member', 'token.revoke']));
  });
});
