/**
 * @file The top-level Dockerfile (issue #6) builds an image that serves the
 * tool: built here on lab-orchestrator/node-base (no registry is reachable,
 * deploy/images/node-base.sh), run with host networking so it reaches the
 * test's FerretDB on loopback. It serves the API and the browser client, runs
 * as a non-root user, and stops cleanly on SIGTERM.
 *
 * The build uses Podman's layer cache: `npm ci` is redone only when
 * package*.json change; the compile step whenever a source changes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testMongoUri } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { podman, prepareLocalRuntime, REPO } from './local-runtime-setup.js';

const IMAGE = 'localhost/lab-orchestrator:latest';
const container = `lo-dockerfile-${process.pid}-${randomBytes(3).toString('hex')}`;
let base = '';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function imageId(): string | undefined {
  const inspect = spawnSync('podman', ['image', 'inspect', '--format', '{{.Id}}', IMAGE], { encoding: 'utf8' });
  return inspect.status === 0 ? inspect.stdout.trim() : undefined;
}

function removeContainer(): void {
  spawnSync('podman', ['rm', '--force', '--time', '0', container], { stdio: 'ignore' });
}

beforeAll(async () => {
  prepareLocalRuntime(['node-base']);
  const previous = imageId();
  execFileSync(
    'podman',
    [
      'build',
      '--format',
      'docker',
      '--build-arg',
      'NODE_IMAGE=localhost/lab-orchestrator/node-base',
      '--tag',
      IMAGE,
      REPO,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  // The image this build replaced is garbage now (as in deploy/images/build.sh), unless a container uses it.
  if (previous && previous !== imageId()) spawnSync('podman', ['rmi', previous], { stdio: 'ignore' });
  const port = await freePort();
  podman(
    'run',
    '--detach',
    '--name',
    container,
    '--network',
    'host',
    '--env',
    `MONGODB_URI=${testMongoUri('lo-dockerfile')}`,
    '--env',
    'RUNTIME=none',
    '--env',
    `SECRET_KEY=${randomBytes(32).toString('hex')}`,
    '--env',
    'HOST=127.0.0.1',
    '--env',
    `PORT=${port}`,
    IMAGE,
  );
  base = `http://127.0.0.1:${port}`;
  await waitFor(
    'the container to answer /readyz',
    async () => {
      const res = await fetch(`${base}/readyz`);
      return res.ok ? true : undefined;
    },
    60,
  );
}, 1_200_000);

afterAll(() => {
  removeContainer();
});

describe('the tool image built from the Dockerfile', () => {
  it('is connected to the database and serves the OpenAPI document', async () => {
    const ready = await fetch(`${base}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: true, runtime: 'none' });
    const res = await fetch(`${base}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const document = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths).length).toBeGreaterThan(5);
  });

  it('serves the built browser client and its assets', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, 'index.html names a script in /assets').toBeDefined();
    const asset = await fetch(`${base}${script}`);
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(1000);
  });

  // Podman 4 runs HEALTHCHECKs from systemd timers (absent here: it logs errors and runs none); run it once.
  it('passes its HEALTHCHECK', () => {
    expect(spawnSync('podman', ['healthcheck', 'run', container]).status).toBe(0);
  });

  it('runs as a non-root user that cannot write to its code', () => {
    expect(podman('exec', container, 'id', '-u').trim()).toBe('10001');
    const write = spawnSync('podman', ['exec', container, 'touch', '/app/dist/written'], { encoding: 'utf8' });
    expect(write.status).not.toBe(0);
  });

  it('stops cleanly on SIGTERM', () => {
    podman('stop', '--time', '10', container);
    expect(podman('inspect', '--format', '{{.State.ExitCode}}', container).trim()).toBe('0');
    expect(podman('logs', container)).toMatch(/"signal":"SIGTERM".*"msg":"stopping"/);
  });
});
