/**
 * Two server processes (`node --import tsx server/main.ts`) against one
 * database and one container engine: each background job runs on one of
 * them (the lease holder), so every expired instance is warned and stopped
 * exactly once, by the leader, whichever replica created it; after kill -9
 * of the leader the other takes the leases over and goes on.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiToken } from '../../server/secrets.js';
import { LabCatalog } from '../../server/services/labs.js';
import type { InstanceRecord } from '../../server/store/instances.js';
import { Store } from '../../server/store/store.js';
import { startChildServer } from '../support/child-server.js';
import { testMongoUri } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { smallLab } from './limits-support.js';
import { podman, prepareLocalRuntime } from './local-runtime-setup.js';

const uri = testMongoUri('lo-replicas');
const scope = `replicas-${process.pid}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-replicas-'));
let store: Store;
const children: ChildProcess[] = [];

interface Replica {
  proc: ChildProcess;
  url: string;
  pid: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startReplica(): Promise<Replica> {
  const port = await freePort();
  const { proc, url } = await startChildServer(
    {
      ...process.env,
      MONGODB_URI: uri,
      DATA_DIR: dataDir, // one secret key for both, as replicas share one
      RUNTIME: 'local',
      RUNTIME_SCOPE: scope,
      RECONCILE_INTERVAL: '1',
      REAPER_INTERVAL: '0.5',
      ADMISSION_INTERVAL: '0.5',
      LEASE_TTL: '2',
      LOG_LEVEL: 'warn',
    },
    port,
  );
  children.push(proc);
  return { proc, url, pid: proc.pid! };
}

async function learnerToken(name: string): Promise<string> {
  const user = await store.users.upsert(`local:${name}`, { name });
  const t = newApiToken();
  await store.tokens.create({ userId: user.id, name: 't', hash: t.hash, prefix: t.prefix });
  return t.token;
}

async function launch(replica: Replica, token: string): Promise<string> {
  const res = await fetch(`${replica.url}/api/v1/instances`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ lab: 'replica-ttl' }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const leaders = async () => Object.fromEntries((await store.leases.list()).map((l) => [l.name, l.holder]));
const pidOf = (holder: string) => Number(holder.split(':')[1]);

async function stoppedAll(ids: string[]): Promise<InstanceRecord[]> {
  return waitFor(
    'every instance to be stopped by its TTL',
    async () => {
      const all = await Promise.all(ids.map((id) => store.instances.get(id)));
      if (all.some((i) => i?.state === 'failed')) throw new Error('an instance failed');
      return all.every((i) => i?.state === 'stopped') ? (all as InstanceRecord[]) : undefined;
    },
    180,
  );
}

/** Audit events of an instance, oldest first. */
async function eventsOf(id: string) {
  return (await store.audit.list({ target: `instance:${id}` })).reverse();
}

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  store = await Store.connect(uri);
  const admin = await store.users.upsert('local:admin', { name: 'admin', admin: true });
  const bundle = { files: new Map([['lab.yaml', Buffer.from(smallLab('replica-ttl', 'ttl: 5s, idle: 1h'))]]) };
  await new LabCatalog(store).importBundle({ user: admin, memberships: [] }, bundle, { asNewVersion: false });
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const i of (await store?.instances.list()) ?? []) {
    for (const c of podman('ps', '-aq', '--filter', `label=lab-orchestrator.instance=${i.id}`)
      .split('\n')
      .filter(Boolean)) {
      podman('rm', '-f', c);
    }
    podman('network', 'rm', '-f', `labo-${i.id}`);
  }
  await store?.dropDatabase();
  await store?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('two replicas, one database', () => {
  it('runs each job once, on the leader; after kill -9 of the leader the other takes over', async () => {
    const a = await startReplica();
    const b = await startReplica();
    const first = await leaders();
    for (const job of ['admission', 'reaper', 'reconciler']) expect(pidOf(first[job]!)).toBe(a.pid);

    // Launches through both replicas; the leader admits and reaps them all.
    const ids = [
      await launch(b, await learnerToken('l1')),
      await launch(a, await learnerToken('l2')),
      await launch(b, await learnerToken('l3')),
    ];
    const stopped = await stoppedAll(ids);
    for (const instance of stopped) {
      expect(instance.history.filter((h) => h.to === 'stopping')).toHaveLength(1);
      expect(instance.history.filter((h) => h.to === 'running')).toHaveLength(1); // provisioned once
      expect(instance.reason).toBe('reached its maximum age of 5 s');
      const events = await eventsOf(instance.id);
      const actions = events.map((e) => e.action);
      expect(actions.filter((x) => x === 'instance.warn')).toHaveLength(1);
      const expired = events.filter((e) => e.action === 'instance.expire.stop');
      expect(expired).toHaveLength(1);
      expect(pidOf(String(expired[0]!.details?.replica))).toBe(a.pid);
      expect(actions.indexOf('instance.warn')).toBeLessThan(actions.indexOf('instance.expire.stop'));
    }

    // kill -9 of the leader: its leases run out and b takes every job over.
    a.proc.kill('SIGKILL');
    await new Promise((r) => a.proc.once('exit', r));
    await waitFor(
      'the other replica to lead every job',
      async () => {
        const now = await leaders();
        return ['admission', 'reaper', 'reconciler'].every((job) => pidOf(now[job]!) === b.pid) ? true : undefined;
      },
      60,
    );
    const late = await launch(b, await learnerToken('l4'));
    const [after] = await stoppedAll([late]);
    expect(after!.history.filter((h) => h.to === 'stopping')).toHaveLength(1);
    const expired = (await eventsOf(late)).filter((e) => e.action === 'instance.expire.stop');
    expect(expired).toHaveLength(1);
    expect(pidOf(String(expired[0]!.details?.replica))).toBe(b.pid);
    expect(podman('ps', '-aq', '--filter', `label=lab-orchestrator.scope=${scope}`).trim()).toBe('');
  });
});
