/**
 * Warm pools on the real local runtime (Podman) and FerretDB: a pool fills
 * to its size; a launch of the assignment claims a running member, which
 * becomes the learner's own (new password inside the container, nobody
 * else may open it); the pool refills; concurrent launches never share a
 * member; an expired pool leaves no container or network behind; bad
 * input is refused naming the field.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalOf } from '../../server/api/auth.js';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { LabCatalog } from '../../server/services/labs.js';
import { Store } from '../../server/store/store.js';
import { startTestServer, type TestServer, testMongoUri } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { importLab } from './limits-support.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';

const LAB = `name: pool-lab
title: pool lab
limits: { ttl: 1h, idle: 1h, maxInstancesPerUser: 1 }
systems:
  - name: box
    kind: container
    image: lab-orchestrator/shell
    user: { name: learner, password: generate }
    resources: { cpu: 100m, memory: 32Mi }
`;

let server: TestServer;
let courseId: string;
let assignmentId: string;
let instructor: { id: string; token: string };
const scope = `pools-${process.pid}`;

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  server = await startTestServer({
    runtime: new LocalRuntime({ scope }),
    env: { ADMISSION_INTERVAL: '0.5', REAPER_INTERVAL: '0.5', LEASE_TTL: '3', QUOTA_INSTANCES: '12' },
  });
  await importLab(server, LAB);
  courseId = (await server.store.users.upsertCourse('local:pool-course', 'Pool course')).id;
  assignmentId = (
    await server.store.assignments.upsert('local:pool-assignment', { courseId, title: 'Pool lab', labName: 'pool-lab' })
  ).id;
  instructor = await server.user('pool-instructor');
  await server.store.users.setMembership(courseId, instructor.id, 'instructor');
}, 300_000);

afterAll(async () => {
  for (const i of (await server?.store.instances.list()) ?? []) await server.runtime?.destroy(i.id);
  await server?.stop();
});

const poolPath = () => `/api/v1/assignments/${assignmentId}/pool`;
const inOneHour = () => new Date(Date.now() + 3600_000).toISOString();

async function learner(name: string) {
  const u = await server.user(name);
  await server.store.users.setMembership(courseId, u.id, 'learner');
  return u;
}

/** The LTI launch's call (lti/launch.ts startOrResume): create an instance of the assignment's lab. */
async function launch(userId: string) {
  const user = (await server.store.users.get(userId))!;
  const principal = await principalOf(server.store, user);
  return server.lifecycle.create(principal, { lab: 'pool-lab', courseId, assignmentId });
}

async function poolReady(ready: number) {
  return waitFor(
    `the pool to have ${ready} ready`,
    async () => {
      const r = await server.api(instructor.token, 'GET', poolPath());
      return r.status === 200 && r.body.ready === ready && r.body.starting === 0 ? r.body : undefined;
    },
    180,
  );
}

const members = async () => (await server.store.pools.members(assignmentId)).filter((m) => m.state === 'running');

/** Exit 0 if `password` is the system user's password (checked against /etc/shadow inside the container). */
async function passwordWorks(id: string, password: string): Promise<boolean> {
  const script =
    'h=$(getent shadow learner | cut -d: -f2); ' +
    'perl -e \'my $p = <STDIN>; chomp $p; exit(crypt($p, $ARGV[0]) eq $ARGV[0] ? 0 : 1)\' "$h"';
  const r = await server.runtime!.exec(id, 'box', ['sh', '-c', script], { stdin: `${password}\n`, timeout: 20 });
  return r.exitCode === 0;
}

describe('warm pool input', () => {
  it('refuses bad input naming the field, unknown assignments and learners', async () => {
    const bad = async (body: unknown) => server.api(instructor.token, 'PUT', poolPath(), body);
    const negative = await bad({ size: -1, until: inOneHour() });
    expect(negative.status).toBe(400);
    expect(negative.body.error.problems).toEqual([{ path: 'body.size', message: 'expected 0 or more' }]);
    const huge = await bad({ size: 100000, until: inOneHour() });
    expect(huge.status).toBe(400);
    expect(huge.body.error.problems[0].path).toBe('body.size');
    const overQuota = await bad({ size: 13, until: inOneHour() });
    expect(overQuota.status).toBe(400);
    expect(overQuota.body.error.message).toMatch(/size: 13 is more than the 12 instance\(s\)/);
    const noUntil = await bad({ size: 1 });
    expect(noUntil.status).toBe(400);
    expect(noUntil.body.error.problems[0].path).toBe('body.until');
    const past = await bad({ size: 1, until: new Date(Date.now() - 1000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.error.message).toMatch(/^invalid until: expected a time in the future/);

    const unknown = await server.api(instructor.token, 'PUT', '/api/v1/assignments/0123456789abcdef01234567/pool', {
      size: 1,
      until: inOneHour(),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/assignment 0123456789abcdef01234567 not found/);
    const someone = await learner('pool-nosy');
    const refused = await server.api(someone.token, 'PUT', poolPath(), { size: 1, until: inOneHour() });
    expect(refused.status).toBe(403);
    expect((await server.api(someone.token, 'GET', poolPath())).status).toBe(403);
    expect((await server.api(instructor.token, 'GET', poolPath())).status).toBe(404); // none yet

    const openapi = await server.api(undefined, 'GET', '/api/v1/openapi.json');
    const item = openapi.body.paths['/api/v1/assignments/{id}/pool'];
    expect(Object.keys(item).sort()).toEqual(['delete', 'get', 'put']);
    expect(item.put.requestBody.content['application/json'].schema.required).toEqual(['size', 'until']);
  });
});

describe('warm pool', () => {
  it('fills, a launch claims a member that becomes personal, and the pool refills', async () => {
    const set = await server.api(instructor.token, 'PUT', poolPath(), { size: 2, until: inOneHour() });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ assignment: assignmentId, lab: 'pool-lab', size: 2 });
    await poolReady(2);
    const before = await members();
    expect(before).toHaveLength(2);
    // The list of pools: the course's instructor and admins see it, nobody else.
    const listed = await server.api(instructor.token, 'GET', '/api/v1/pools');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([
      expect.objectContaining({ assignment: assignmentId, size: 2, ready: 2, starting: 0 }),
    ]);
    expect((await server.api(server.adminToken, 'GET', '/api/v1/pools')).body).toHaveLength(1);
    const elsewhere = await server.user('pool-other-instructor');
    const other = await server.store.users.upsertCourse('local:pool-other-course', 'Another course');
    await server.store.users.setMembership(other.id, elsewhere.id, 'instructor');
    expect((await server.api(elsewhere.token, 'GET', '/api/v1/pools')).body).toEqual([]);
    expect((await server.api((await learner('pool-looker')).token, 'GET', '/api/v1/pools')).body).toEqual([]);
    const poolPasswords = new Map<string, string>();
    for (const m of before) {
      const asAdmin = await server.api(server.adminToken, 'GET', `/api/v1/instances/${m.id}`);
      const password: string = asAdmin.body.credentials[0].password;
      expect(await passwordWorks(m.id, password)).toBe(true);
      poolPasswords.set(m.id, password);
    }

    const alice = await learner('pool-alice');
    const claimed = await launch(alice.id);
    expect(poolPasswords.has(claimed.id)).toBe(true); // a pool member, not a new instance
    expect(claimed).toMatchObject({ state: 'running', ownerId: alice.id, courseId, assignmentId });
    expect(claimed.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 3500_000); // the lab's TTL from now
    expect(claimed.limits.ttl).toBe(3600);

    await server.lifecycle.settled(claimed.id); // the new password is set inside in the background
    expect((await server.store.instances.get(claimed.id))!.state).toBe('running');
    const view = await server.api(alice.token, 'GET', `/api/v1/instances/${claimed.id}`);
    expect(view.status).toBe(200);
    const newPassword: string = view.body.credentials[0].password;
    expect(view.body.credentials[0].user).toBe('learner');
    expect(newPassword).not.toBe(poolPasswords.get(claimed.id));
    expect(await passwordWorks(claimed.id, newPassword)).toBe(true);
    expect(await passwordWorks(claimed.id, poolPasswords.get(claimed.id)!)).toBe(false);
    // The host name is the system's name, as in any instance.
    expect((await server.runtime!.exec(claimed.id, 'box', ['hostname'])).stdout.trim()).toBe('box');

    // Another learner can neither see it nor get a console ticket (404 like any instance not theirs).
    const bob = await learner('pool-bob');
    expect((await server.api(bob.token, 'GET', `/api/v1/instances/${claimed.id}`)).status).toBe(404);
    expect(
      (
        await server.api(bob.token, 'POST', `/api/v1/instances/${claimed.id}/tickets`, {
          system: 'box',
          console: 'terminal',
        })
      ).status,
    ).toBe(404);
    const ticket = await server.api(alice.token, 'POST', `/api/v1/instances/${claimed.id}/tickets`, {
      system: 'box',
      console: 'terminal',
    });
    expect(ticket.status, JSON.stringify(ticket.body)).toBeLessThan(300);

    // The pool refills to its size with a new member.
    await poolReady(2);
    const after = (await members()).map((m) => m.id);
    expect(after).not.toContain(claimed.id);
    expect(after.filter((id) => !poolPasswords.has(id))).toHaveLength(1);
    const audit = await server.store.audit.list({ target: `instance:${claimed.id}` });
    expect(audit.map((e) => e.action)).toContain('instance.claim');
  });

  it('never gives one member to two concurrent launches', async () => {
    await poolReady(2);
    const ready = new Set((await members()).map((m) => m.id));
    const learners = await Promise.all([0, 1, 2, 3].map((n) => learner(`pool-rush-${n}`)));
    const got = await Promise.all(learners.map((l) => launch(l.id)));
    const ids = got.map((i) => i.id);
    expect(new Set(ids).size).toBe(4);
    expect(ids.filter((id) => ready.has(id))).toHaveLength(2); // two claims, two new instances
    for (const [n, instance] of got.entries()) {
      expect((await server.store.instances.get(instance.id))!.ownerId).toBe(learners[n]!.id);
    }
  });

  it('a claim is a unique insert: of two connections taking one member, one wins', async () => {
    // Two connections to one database (FerretDB loses concurrent conditional updates across connections).
    const uri = testMongoUri('lo-pool-race');
    const a = await Store.connect(uri);
    const b = await Store.connect(uri);
    try {
      for (let round = 0; round < 20; round++) {
        const id = `race-${round}-${process.pid}`;
        const wins = await Promise.all([a.pools.takeClaim(id, 'one'), b.pools.takeClaim(id, 'two')]);
        expect(wins.filter(Boolean)).toHaveLength(1);
        await a.pools.dropClaim(id);
      }
    } finally {
      await a.dropDatabase();
      await a.close();
      await b.close();
    }
  });

  it('an expired pool stops its unused members and leaves no container or network', async () => {
    await poolReady(2);
    const unused = (await members()).map((m) => m.id);
    expect(unused).toHaveLength(2);
    const until = new Date(Date.now() + 2000).toISOString();
    expect((await server.api(instructor.token, 'PUT', poolPath(), { size: 2, until })).status).toBe(200);
    await waitFor(
      'the pool to end',
      async () => ((await server.api(instructor.token, 'GET', poolPath())).status === 404 ? true : undefined),
      120,
    );
    for (const id of unused) {
      expect(await server.store.instances.get(id)).toBeUndefined();
      const label = `label=lab-orchestrator.instance=${id}`;
      expect(execFileSync('podman', ['ps', '-aq', '--filter', label], { encoding: 'utf8' }).trim()).toBe('');
      expect(execFileSync('podman', ['network', 'ls', '-q', '--filter', label], { encoding: 'utf8' }).trim()).toBe('');
    }
    expect(await server.store.pools.members()).toEqual([]);
  });

  it('DELETE removes the pool and stops its members', async () => {
    expect((await server.api(instructor.token, 'PUT', poolPath(), { size: 1, until: inOneHour() })).status).toBe(200);
    await poolReady(1);
    const [member] = await members();
    expect((await server.api(instructor.token, 'DELETE', poolPath())).status).toBe(204);
    expect((await server.api(instructor.token, 'GET', poolPath())).status).toBe(404);
    await waitFor(
      'the member to be gone',
      async () => ((await server.store.instances.get(member!.id)) === undefined ? true : undefined),
      120,
    );
  });
});

describe('pool CLI', () => {
  it('sets, shows and deletes a pool as the admin; bad input exits 1 naming the option', async () => {
    const uri = testMongoUri('lo-pool-cli');
    const store = await Store.connect(uri);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-pool-cli-'));
    const env = { ...process.env, MONGODB_URI: uri, DATA_DIR: dataDir, LOG_LEVEL: 'silent', QUOTA_INSTANCES: '50' };
    const cli = async (...args: string[]) => {
      try {
        const { stdout, stderr } = await promisify(execFile)(
          'node',
          ['--import', 'tsx', 'server/cli/main.ts', 'pool', ...args],
          {
            env,
          },
        );
        return { code: 0, stdout, stderr };
      } catch (err) {
        return err as { code: number; stdout: string; stderr: string };
      }
    };
    try {
      const admin = await store.users.upsert('local:admin', { name: 'Administrator', admin: true });
      await new LabCatalog(store).importBundle(
        { user: admin, memberships: [] },
        { files: new Map([['lab.yaml', Buffer.from(LAB)]]) },
        { asNewVersion: false },
      );
      const course = await store.users.upsertCourse('local:cli-course', 'CLI course');
      const a = await store.assignments.upsert('local:cli-a', { courseId: course.id, title: 'A', labName: 'pool-lab' });

      const tooBig = await cli('set', a.id, '--size', '51', '--until', '+2h');
      expect(tooBig.code).toBe(1);
      expect(tooBig.stderr).toMatch(/size: 51 is more than the 50 instance\(s\)/);
      const badTime = await cli('set', a.id, '--size', '2', '--until', 'tomorrow');
      expect(badTime.code).toBe(1);
      expect(badTime.stderr).toMatch(/--until: expected an ISO 8601 time/);

      const set = await cli('set', a.id, '--size', '2', '--until', '+2h');
      expect(set.stderr).toBe('');
      expect(set.code).toBe(0);
      expect(set.stdout).toMatch(new RegExp(`^${a.id}\tpool-lab\tsize 2\tready 0\tstarting 0\tuntil `));
      expect((await store.pools.get(a.id))?.size).toBe(2);
      expect((await cli('list')).stdout).toContain(`${a.id}\tpool-lab\tsize 2`);
      expect((await cli('delete', a.id)).code).toBe(0);
      expect(await store.pools.get(a.id)).toBeUndefined();
      const gone = await cli('show', a.id);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/warm pool of assignment .* not found/);
    } finally {
      await store.dropDatabase();
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
