/**
 * Grades survive a crash: the server (a child process) is killed with
 * SIGKILL while scores are pending because the platform's AGS is down;
 * a newer score arrives while it is dead; after a restart and the
 * platform's recovery, the gradebook gets exactly one score, the latest.
 * The platform is registered with the admin CLI (`platform register`).
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeProgress, progressEvent } from '../../server/domain/tutorial/progress.js';
import { GradeOutboxListener } from '../../server/jobs/grade-outbox.js';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { Store } from '../../server/store/store.js';
import { startChildServer } from '../support/child-server.js';
import { testMongoUri } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { prepareLocalRuntime, REPO } from './local-runtime-setup.js';
import { LAB_NAME, launch, registrationOf, startWorld, type World } from './lti-support.js';

const run = promisify(execFile);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-lti-crash-'));
const uri = testMongoUri('lo-lti-crash');
const scope = `lti-crash-${process.pid}`;
let port = 0;
let child: ChildProcess | undefined;
let store: Store;
let world: World;

const env = () => ({
  ...process.env,
  MONGODB_URI: uri,
  HOST: '127.0.0.1',
  PORT: String(port),
  DATA_DIR: dataDir,
  SECRET_KEY: secretKey,
  RUNTIME: 'local',
  RUNTIME_SCOPE: scope,
  LOG_LEVEL: 'warn',
  GRADE_OUTBOX_INTERVAL: '0.2',
  GRADE_RETRY_MAX: '1',
  GRADE_LEASE: '3',
});
const secretKey = randomBytes(32).toString('hex');

async function startChild(): Promise<void> {
  child = (await startChildServer(env(), port)).proc;
}

const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'server/cli/main.ts', ...args], { cwd: REPO, env: env() });

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  const net = await import('node:net');
  port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  world = await startWorld(`http://127.0.0.1:${port}`);
  const labDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-lti-lab-'));
  const { labUpload } = await import('./lti-support.js');
  for (const [file, content] of Object.entries(labUpload().files)) {
    fs.mkdirSync(path.dirname(path.join(labDir, file)), { recursive: true });
    fs.writeFileSync(path.join(labDir, file), Buffer.from(content, 'base64'));
  }
  await cli('lab', 'import', labDir);
  const r = registrationOf(world);
  const registered = await cli(
    'platform',
    'register',
    '--issuer',
    r.issuer,
    '--client-id',
    r.clientId,
    '--auth-url',
    r.authUrl,
    '--token-url',
    r.tokenUrl,
    '--jwks-url',
    r.jwksUrl,
    '--deployment-id',
    ...r.deploymentIds,
  );
  expect(registered.stdout).toContain(`client=${r.clientId}`);
  expect(registered.stdout).toContain('active');
  store = await Store.connect(uri);
});

afterAll(async () => {
  child?.kill('SIGKILL');
  if (child && child.exitCode === null) await new Promise((resolve) => child!.once('exit', resolve));
  // Everything of this test's scope, whatever the killed servers left.
  const runtime = new LocalRuntime({ scope });
  for (const id of await runtime.list()) await runtime.destroy(id);
  await runtime.close();
  await world?.running.close();
  await store?.dropDatabase();
  await store?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 with scores pending', () => {
  it('delivers exactly once, the latest score, after a restart', async () => {
    await startChild();
    const platform = world.running.platform;
    const { answer } = await launch(platform.urls.launch(world.linkId, 'alice'));
    expect(answer.status, answer.body.slice(0, 300)).toBe(303);
    const instanceId = decodeURIComponent(new URL(answer.location!).pathname.split('/').pop()!);
    const instance = (await store.instances.get(instanceId))!;
    expect(instance.labName).toBe(LAB_NAME);

    // Progress events go through the same listener the server registers, on this process's store.
    const listener = new GradeOutboxListener(store);
    const outline = {
      pages: [
        {
          title: 'Start',
          steps: [
            { id: 'first', points: 3 },
            { id: 'second', points: 7 },
          ],
        },
      ],
    };
    const step = { done: true, at: new Date().toISOString(), by: 'tick' as const, attempts: 0 };
    const emit = (states: Record<string, typeof step>) =>
      listener.progressChanged(
        progressEvent(
          {
            instanceId,
            userId: instance.ownerId,
            labName: instance.labName,
            labVersion: instance.labVersion,
            assignmentId: instance.assignmentId!,
          },
          computeProgress(outline, states),
          new Date().toISOString(),
        ),
      );

    platform.failServices({ status: 503, services: ['ags', 'token'] });
    await emit({ first: step });
    await waitFor('the server to try and fail', async () =>
      platform.refusedByOutage().token + platform.refusedByOutage().ags > 2 ? true : undefined,
    );
    child!.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    await emit({ second: step });
    expect(await store.grades.get(instance.assignmentId!, instance.ownerId)).toMatchObject({
      pending: true,
      score: { scoreGiven: 7 },
    });

    const before = platform.store.scoreAttempts.length;
    platform.recoverServices();
    await startChild();
    await waitFor('the gradebook to show 7 points', async () =>
      platform.grade(world.lineItemId, 'alice')?.grade === 7 ? true : undefined,
    );
    await waitFor('the outbox row to be done', async () =>
      (await store.grades.get(instance.assignmentId!, instance.ownerId))?.pending === false ? true : undefined,
    );
    // A few more rounds: nothing is sent again.
    await new Promise((r) => setTimeout(r, 1500));
    const accepted = platform.store.scoreAttempts.slice(before).filter((a) => a.status < 300);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.body).toMatchObject({ userId: 'alice', scoreGiven: 7, scoreMaximum: 10 });
  });
});
