/**
 * Crash safety of the lifecycle (issue 3): kill -9 the server while five
 * instances provision, start it again; every instance ends running or
 * cleanly failed, and nothing is left in Podman that no instance owns.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiToken } from '../../server/secrets.js';
import { LabCatalog } from '../../server/services/labs.js';
import { Store } from '../../server/store/store.js';
import { startChildServer } from '../support/child-server.js';
import { testMongoUri } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { podman, prepareLocalRuntime } from './local-runtime-setup.js';

const LAB = `name: crash-pair
title: Two shells
systems:
  - name: alpha
    kind: container
    image: lab-orchestrator/shell
  - name: beta
    kind: container
    image: lab-orchestrator/shell
`;

let store: Store;
let child: ChildProcess | undefined;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-crash-'));
const uri = testMongoUri('lo-crash');
let port = 0;
const scope = `crash-${process.pid}`;
const orphan = `iorphan${process.pid}`;

async function startChild(): Promise<string> {
  const started = await startChildServer(
    {
      ...process.env,
      MONGODB_URI: uri,
      DATA_DIR: dataDir,
      RUNTIME: 'local',
      RUNTIME_SCOPE: scope,
      RECONCILE_INTERVAL: '1',
      LOG_LEVEL: 'warn',
    },
    port,
  );
  child = started.proc;
  return started.url;
}

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  store = await Store.connect(uri);
  const admin = await store.users.upsert('local:admin', { name: 'admin', admin: true });
  const bundle = { files: new Map([['lab.yaml', Buffer.from(LAB)]]) };
  await new LabCatalog(store).importBundle({ user: admin, memberships: [] }, bundle, { asNewVersion: false });
  const net = await import('node:net');
  port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
});

afterAll(async () => {
  for (const i of (await store?.instances.list()) ?? []) {
    for (const c of podman('ps', '-aq', '--filter', `label=lab-orchestrator.instance=${i.id}`)
      .split('\n')
      .filter(Boolean)) {
      podman('rm', '-f', c);
    }
    podman('network', 'rm', '-f', `labo-${i.id}`);
  }
  child?.kill('SIGKILL');
  podman('rm', '-f', `labo-${orphan}-x`);
  await store?.dropDatabase();
  await store?.close();
});

describe('kill -9 during provisioning', () => {
  it('ends every instance running or cleanly failed after a restart, with no orphan', async () => {
    let url = await startChild();
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) {
      const user = await store.users.upsert(`local:learner${n}`, { name: `learner ${n}` });
      const t = newApiToken();
      await store.tokens.create({ userId: user.id, name: 't', hash: t.hash, prefix: t.prefix });
      const res = await fetch(`${url}/api/v1/instances`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ lab: 'crash-pair' }),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    const states = (await store.instances.list()).map((i) => i.state);
    expect(states.some((s) => s === 'provisioning' || s === 'requested')).toBe(true); // really interrupted

    // Runtime objects the database knows nothing of (a crash between the two): the reconciler must remove them.
    podman(
      'run',
      '-d',
      '--name',
      `labo-${orphan}-x`,
      '--label',
      `lab-orchestrator.instance=${orphan}`,
      '--label',
      `lab-orchestrator.scope=${scope}`,
      'lab-orchestrator/shell',
      'sleep',
      '600',
    );

    url = await startChild();
    const final = await waitFor(
      'every instance to settle',
      async () => {
        const all = await store.instances.list();
        return all.every((i) => i.state === 'running' || i.state === 'failed') ? all : undefined;
      },
      180,
    );
    expect(final.map((i) => i.id).sort()).toEqual([...ids].sort());

    for (const instance of final) {
      const containers = podman(
        'ps',
        '-a',
        '--filter',
        `label=lab-orchestrator.instance=${instance.id}`,
        '--format',
        '{{.State}}',
      )
        .split('\n')
        .filter(Boolean);
      // podman ps prints a running container's state as "Up 3 seconds ago".
      if (instance.state === 'running') expect(containers.map((s) => /^up\b/i.test(s))).toEqual([true, true]);
      else expect(containers, `failed ${instance.id}: ${instance.reason}`).toEqual([]);
    }
    await waitFor('the orphaned container to be removed', async () =>
      podman('ps', '-aq', '--filter', `label=lab-orchestrator.instance=${orphan}`).trim() === '' ? true : undefined,
    );
    expect(final.filter((i) => i.state === 'running').length).toBeGreaterThan(0);
  });
});
