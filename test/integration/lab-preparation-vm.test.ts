/**
 * Lab preparation on the local runtime, real QEMU with tiny-vm
 * (server/jobs/lab-preparation.ts): importing a VM lab builds its saved state
 * in the background without any launch, and the first launch afterwards
 * starts from it. A second replica on the same catalog prepares nothing while
 * the first leads, and prepares the labs already in the catalog once it takes
 * the lead (what a server does at start). Needs root (taps, bridges) and
 * Podman (the instance network).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import type { DriverLog, QemuVmDriver } from '../../server/runtime/local/vm/qemu-driver.js';
import { pathsOf, readRecord } from '../../server/runtime/local/vm/vm-state.js';
import { startTestServer, type TestServer, testMongoUri } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { stateOf } from './limits-support.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';
import { buildVmImage, testVmDriver } from './local-vm-helpers.js';

const LAB = `name: vm-prepared
title: A VM prepared before its first learner
systems:
  - name: box
    kind: vm
    image: lab-orchestrator/tiny-vm
    user: { name: student, password: generate }
`;

/** A VM driver of its own (state, sockets, templates under `dir`) that records what it tells. */
function recordingDriver(dir: string): { driver: QemuVmDriver; said: string[] } {
  const said: string[] = [];
  const log: DriverLog = {
    info: (_detail, msg) => said.push(msg),
    warn: (detail, msg) => said.push(`${msg} ${JSON.stringify(detail)}`),
  };
  return { driver: testVmDriver(dir, { templatesDir: path.join(dir, 'templates'), savedState: true, log }), said };
}

/** Published templates (a build in progress is a dot folder, renamed into place when complete). */
const templatesOf = async (driver: QemuVmDriver) =>
  (await readdir(driver.templates.dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
const builds = (said: string[]) => said.filter((m) => m === 'VM saved state built').length;
/** Waits until a saved state is published, then until the job has nothing under way. */
async function preparedBy(server: TestServer, driver: QemuVmDriver): Promise<void> {
  await waitFor('a saved state', async () => ((await templatesOf(driver)).length > 0 ? true : undefined), 280);
  await server.labPreparation?.settle();
}

const uri = testMongoUri('lab-prep');
let work: string;
let first: { driver: QemuVmDriver; said: string[] };
let second: { driver: QemuVmDriver; said: string[] };
let leader: TestServer;
let leaderOpen = false;
let replica: TestServer | undefined;
let instanceId: string | undefined;

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  buildVmImage('tiny-vm');
  work = await mkdtemp(path.join(os.tmpdir(), 'lab-prep-vm-'));
  first = recordingDriver(path.join(work, 'one'));
  second = recordingDriver(path.join(work, 'two'));
  leader = await startTestServer({
    runtime: new LocalRuntime({ vmDriver: first.driver, scope: `prep-one-${process.pid}` }),
    env: { MONGODB_URI: uri },
  });
  leaderOpen = true;
}, 600_000);

afterAll(async () => {
  if (instanceId) await leader?.runtime?.destroy(instanceId).catch(() => {});
  // Both servers share one database: the last one to stop drops it.
  if (leaderOpen) await (replica ? leader.close() : leader.stop());
  await replica?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('lab preparation: VM saved states before the first launch (local runtime, tiny-vm)', () => {
  it('importing a VM lab builds its saved state in the background, without any launch', async () => {
    const imported = await leader.api(leader.adminToken, 'POST', '/api/v1/labs', LAB, {
      'content-type': 'application/yaml',
    });
    expect(imported.status).toBe(201);
    // The import answered before the template's cold boot was over.
    expect(await templatesOf(first.driver)).toEqual([]);
    await preparedBy(leader, first.driver);
    expect(builds(first.said)).toBe(1);
    expect(await first.driver.list()).toEqual([]);
    expect(await leader.store.instances.countByLab('vm-prepared', ['requested', 'provisioning', 'running'])).toBe(0);
  });

  it('the first launch afterwards starts from that saved state (no build of its own)', async () => {
    const [template] = await templatesOf(first.driver);
    const learner = await leader.user('learner');
    const launched = await leader.api(learner.token, 'POST', '/api/v1/instances', { lab: 'vm-prepared' });
    expect(launched.status).toBeLessThan(300);
    const id: string = launched.body.id;
    instanceId = id;
    await stateOf(leader, learner.token, id, 'running', 280);
    const record = await readRecord(pathsOf(first.driver.stateDir, first.driver.socketDir, id, 'box'));
    expect(record?.restoredFrom).toBe(path.join(first.driver.templates.dir, template as string));
    expect((await first.driver.status(id, 'box'))?.reason).toMatch(/started from saved state/);
    expect(builds(first.said)).toBe(1);
    expect(first.said.filter((m) => m.startsWith('restore from saved state failed'))).toEqual([]);
  });

  it('a replica prepares nothing while another leads, and the catalog once it takes the lead', async () => {
    const started = await startTestServer({
      runtime: new LocalRuntime({ vmDriver: second.driver, scope: `prep-two-${process.pid}` }),
      env: { MONGODB_URI: uri },
      lti: false, // the leader runs this process's ltijs
    });
    replica = started;
    await started.leadership.renew();
    expect(started.leadership.holds('lab-preparation')).toBe(false);
    expect(started.labPreparation?.waiting).toEqual([]);
    expect(await readdir(second.driver.templates.dir).catch(() => [])).toEqual([]);

    // The leader goes away (its leases are given up); the replica takes over and sweeps the catalog.
    if (instanceId) await leader.runtime?.destroy(instanceId);
    instanceId = undefined;
    await leader.close();
    leaderOpen = false;
    await started.leadership.renew();
    expect(started.leadership.holds('lab-preparation')).toBe(true);
    await preparedBy(started, second.driver);
    expect(builds(second.said)).toBe(1);
    expect(await second.driver.list()).toEqual([]);
  });
});
