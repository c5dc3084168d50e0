/**
 * Instances through the API on the real local runtime (Podman): the whole
 * lifecycle a learner drives, checked against what really exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { importLabFolder, startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { podman, prepareLocalRuntime } from './local-runtime-setup.js';

let server: TestServer;
let learner: { id: string; token: string };

beforeAll(async () => {
  prepareLocalRuntime();
  server = await startTestServer({ runtime: new LocalRuntime({ scope: `test-${process.pid}` }) });
  const created = await importLabFolder(server, 'labs/net-basics');
  expect(created.status).toBe(201);
  learner = await server.user('learner');
});
afterAll(async () => {
  // Whatever a failed test left behind goes too.
  for (const i of (await server?.store.instances.list()) ?? []) await server.runtime?.destroy(i.id);
  await server?.stop();
});

const containersOf = (id: string) =>
  podman('ps', '-a', '--filter', `label=lab-orchestrator.instance=${id}`, '--format', '{{.Names}} {{.State}}')
    .trim()
    .split('\n')
    .filter(Boolean);

async function stateOf(id: string, want: string) {
  return waitFor(`instance ${id} to be ${want}`, async () => {
    const res = await server.api(learner.token, 'GET', `/api/v1/instances/${id}`);
    if (res.body.state === 'failed' && want !== 'failed') throw new Error(`failed: ${res.body.reason}`);
    return res.body.state === want ? res.body : undefined;
  });
}

describe('instance lifecycle on the local runtime', () => {
  it('starts, pauses, resumes, resets and stops a two-container lab', async () => {
    const created = await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'net-basics' });
    expect(created.status).toBe(202);
    const id: string = created.body.id;
    expect(created.body.state).toBe('provisioning');

    const running = await stateOf(id, 'running');
    expect(running.systems.map((s: { name: string; phase: string }) => [s.name, s.phase])).toEqual([
      ['client', 'ready'],
      ['server', 'ready'],
    ]);
    expect(containersOf(id)).toHaveLength(2);

    const second = await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'net-basics' });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(/at most 1/);

    // A file written before a pause survives it; a reset removes it.
    const exec = (argv: string[]) => server.runtime!.exec(id, 'server', argv, { timeout: 10 });
    expect((await exec(['sh', '-c', 'echo kept > /tmp/mark'])).exitCode).toBe(0);
    expect((await server.api(learner.token, 'POST', `/api/v1/instances/${id}/pause`)).body.state).toBe('paused');
    expect(containersOf(id).every((c) => /paused$/i.test(c))).toBe(true);
    expect((await server.api(learner.token, 'POST', `/api/v1/instances/${id}/pause`)).status).toBe(202); // idempotent
    expect((await server.api(learner.token, 'POST', `/api/v1/instances/${id}/resume`)).body.state).toBe('running');
    expect((await exec(['cat', '/tmp/mark'])).stdout.trim()).toBe('kept');

    const reset = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/reset`);
    expect(reset.body.state).toBe('provisioning');
    await stateOf(id, 'running');
    expect((await exec(['cat', '/tmp/mark'])).exitCode).not.toBe(0);

    const stop = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/stop`);
    expect(stop.body.state).toBe('stopping');
    await stateOf(id, 'stopped');
    expect(containersOf(id)).toEqual([]);
    expect(podman('network', 'ls', '--format', '{{.Name}}')).not.toContain(id);
    const refused = await server.api(learner.token, 'POST', `/api/v1/instances/${id}/pause`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/cannot pause an instance that is stopped/);

    // Stopped: a new one may start; the old one can be started again, then deleted.
    const history = (await server.api(learner.token, 'GET', `/api/v1/instances/${id}`)).body.history;
    expect(history.map((t: { to: string }) => t.to)).toEqual([
      'provisioning',
      'running',
      'paused',
      'running',
      'provisioning',
      'running',
      'stopping',
      'stopped',
    ]);
    expect((await server.api(learner.token, 'DELETE', `/api/v1/instances/${id}`)).status).toBe(204);
    expect((await server.api(learner.token, 'GET', `/api/v1/instances/${id}`)).status).toBe(404);
  });

  it('fails an instance whose image does not exist with a readable reason, leaving nothing', async () => {
    const lab =
      'name: no-such-image\ntitle: Broken image\nsystems:\n  - name: box\n    kind: container\n    image: lab-orchestrator/does-not-exist\n';
    expect(
      (await server.api(server.adminToken, 'POST', '/api/v1/labs', lab, { 'content-type': 'application/yaml' })).status,
    ).toBe(201);
    const created = await server.api(learner.token, 'POST', '/api/v1/instances', { lab: 'no-such-image' });
    const failed = await stateOf(created.body.id, 'failed');
    expect(failed.reason).toMatch(/does-not-exist/);
    expect(containersOf(created.body.id)).toEqual([]);
  });

  it('the reconciler marks an instance whose containers vanished as failed', async () => {
    const other = await server.user('learner-two');
    const created = await server.api(other.token, 'POST', '/api/v1/instances', { lab: 'net-basics' });
    const id: string = created.body.id;
    await waitFor('running', async () => {
      const r = await server.api(other.token, 'GET', `/api/v1/instances/${id}`);
      return r.body.state === 'running' ? true : undefined;
    });
    podman('rm', '-f', ...containersOf(id).map((c) => c.split(' ')[0]!));
    // This round, or the periodic one that may have run since, marks it.
    await server.reconciler!.round();
    const after = await server.api(other.token, 'GET', `/api/v1/instances/${id}`);
    expect(after.body.state).toBe('failed');
    expect(after.body.reason).toMatch(/nothing of this instance|missing/);
    await server.api(other.token, 'POST', `/api/v1/instances/${id}/stop`);
  });
});
