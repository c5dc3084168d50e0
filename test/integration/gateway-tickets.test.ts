/**
 * Console tickets across replicas: two server processes on one database
 * (FerretDB), a ticket issued by one opens on the other, once only; when both
 * redeem one ticket at the same moment, exactly one wins. Uses the web-app
 * console, whose first visit redeems the ticket without touching a runtime
 * (303 into a proxy session, 401 otherwise), so no runtime is needed.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiToken } from '../../server/secrets.js';
import { LabCatalog } from '../../server/services/labs.js';
import { Store } from '../../server/store/store.js';
import { startChildServer } from '../support/child-server.js';
import { testMongoUri } from '../support/server.js';

const LAB = `name: ticket-lab
title: Tickets
systems:
  - name: web
    kind: container
    image: lab-orchestrator/shell
    ports: [8080]
`;

const uri = testMongoUri('lo-tickets');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-tickets-'));
const children: ChildProcess[] = [];
let store: Store;
let token: string;
let instanceId: string;
let a: string;
let b: string;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function replica(): Promise<string> {
  const env = { ...process.env, MONGODB_URI: uri, DATA_DIR: dataDir, RUNTIME: 'none', LOG_LEVEL: 'warn' };
  const { proc, url } = await startChildServer(env, await freePort());
  children.push(proc);
  return url;
}

async function ticket(server: string): Promise<string> {
  const res = await fetch(`${server}/api/v1/instances/${instanceId}/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ system: 'web', console: 'http', port: 8080 }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { url: string }).url;
}

/** The status of the ticket's first visit: 303 (redeemed here) or 401 (unknown, used or expired). */
const visit = async (server: string, url: string) => (await fetch(`${server}${url}`, { redirect: 'manual' })).status;

beforeAll(async () => {
  store = await Store.connect(uri);
  const admin = await store.users.upsert('local:admin', { name: 'admin', admin: true });
  const bundle = { files: new Map([['lab.yaml', Buffer.from(LAB)]]) };
  const lab = await new LabCatalog(store).importBundle({ user: admin, memberships: [] }, bundle, {
    asNewVersion: false,
  });
  const t = newApiToken();
  await store.tokens.create({ userId: admin.id, name: 't', hash: t.hash, prefix: t.prefix });
  token = t.token;
  // An instance that is running as far as the database knows (no runtime takes part in a ticket's first visit).
  const created = await store.instances.create({
    id: `tk${Date.now().toString(36)}`,
    ownerId: admin.id,
    labName: lab.name,
    labVersion: lab.version,
    credentials: [],
  });
  await store.instances.transition(created, 'running', 'test');
  instanceId = created.id;
  [a, b] = await Promise.all([replica(), replica()]);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.dropDatabase().catch(() => {});
  await store?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('tickets across replicas', () => {
  it('a ticket issued by one replica opens on the other, once', async () => {
    const url = await ticket(a);
    expect(await visit(b, url)).toBe(303);
    expect(await visit(b, url)).toBe(401);
    expect(await visit(a, url)).toBe(401);
  });

  it('when both replicas redeem one ticket at once, exactly one wins', async () => {
    for (let round = 0; round < 20; round++) {
      const url = await ticket(round % 2 === 0 ? a : b);
      const statuses = await Promise.all([visit(a, url), visit(b, url), visit(a, url), visit(b, url)]);
      expect(
        statuses.filter((s) => s === 303),
        `round ${round}: ${statuses}`,
      ).toHaveLength(1);
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    }
  });

  it('keeps no ticket in clear in the database', async () => {
    const url = await ticket(a);
    const clear = new URL(url, 'http://x').searchParams.get('ticket');
    const conn = await mongoose.createConnection(uri).asPromise();
    const docs = (await conn.db?.collection('console_tickets').find({}).toArray()) ?? [];
    await conn.close();
    expect(docs.length).toBeGreaterThan(0);
    expect(JSON.stringify(docs)).not.toContain(clear);
    expect(await visit(a, url)).toBe(303);
  });
});
