/**
 * @file Starts a real server for a test: its own database on the FerretDB of
 * the test run (TEST_MONGODB_URI, started by scripts/test.sh), a free port, a
 * temporary data folder; plus helpers to make users and call the API.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../server/config.js';
import { readLabFolder } from '../../server/domain/lab/bundle.js';
import { createLogger } from '../../server/log.js';
import type { Runtime } from '../../server/runtime/runtime.js';
import { newApiToken } from '../../server/secrets.js';
import { type ServerHandle, startServer } from '../../server/server.js';

export function testMongoUri(dbPrefix: string): string {
  const base = process.env.TEST_MONGODB_URI;
  if (!base) {
    throw new Error('TEST_MONGODB_URI is not set: run the tests through scripts/test.sh, which starts FerretDB');
  }
  return `${base.replace(/\/$/, '')}/${dbPrefix}-${randomBytes(4).toString('hex')}`;
}

export interface TestServer extends ServerHandle {
  /** Token of the built-in admin. */
  adminToken: string;
  /** Makes a local user (optionally with course roles) and returns a token of theirs. */
  user(name: string, opts?: { admin?: boolean }): Promise<{ id: string; token: string }>;
  api(
    token: string | undefined,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

export interface ApiAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test helper: tests assert on the JSON shape.
  body: any;
  headers: Headers;
}

export async function startTestServer(
  opts: {
    runtime?: Runtime | null;
    env?: Record<string, string>;
    reconcile?: boolean;
    /** false: no LTI tool (ltijs runs once per process, so a second server in one process goes without). */
    lti?: false;
  } = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-test-'));
  const config = loadConfig({
    MONGODB_URI: testMongoUri('lo-test'),
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RUNTIME: opts.runtime === null ? 'none' : 'local',
    RECONCILE_INTERVAL: '2',
    ...opts.env,
  });
  const handle = await startServer(config, {
    log: createLogger(config.LOG_LEVEL),
    runtime: opts.runtime === undefined ? null : opts.runtime,
    ...(opts.reconcile === undefined ? {} : { reconcile: opts.reconcile }),
    ...(opts.lti === false ? { lti: false } : {}),
  });

  const user = async (name: string, o: { admin?: boolean } = {}) => {
    const u = await handle.store.users.upsert(`local:${name}`, { name, admin: o.admin === true });
    const t = newApiToken();
    await handle.store.tokens.create({ userId: u.id, name: 'test', hash: t.hash, prefix: t.prefix });
    return { id: u.id, token: t.token };
  };
  const admin = await user('admin', { admin: true });

  const api: TestServer['api'] = async (token, method, url, body, headers = {}) => {
    const isRaw = Buffer.isBuffer(body) || typeof body === 'string';
    const res = await fetch(`${handle.url}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined && !isRaw ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined
        ? { body: typeof body === 'string' ? body : isRaw ? new Uint8Array(body as Buffer) : JSON.stringify(body) }
        : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    const parsed = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: parsed, headers: res.headers };
  };

  return {
    ...handle,
    adminToken: admin.token,
    user,
    api,
    async stop() {
      await handle.store.dropDatabase().catch(() => undefined);
      await handle.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Imports a lab folder of the repository (e.g. `labs/net-basics`) through the API as the admin; answers the API's reply. */
export async function importLabFolder(server: TestServer, folder: string): Promise<ApiAnswer> {
  const read = await readLabFolder(path.join(fileURLToPath(new URL('../..', import.meta.url)), folder));
  if (!read.ok) throw new Error(`${folder} is not a readable lab`);
  const files = Object.fromEntries([...read.bundle.files].map(([p, c]) => [p, c.toString('base64')]));
  return server.api(server.adminToken, 'POST', '/api/v1/labs', { files, encoding: 'base64' });
}
