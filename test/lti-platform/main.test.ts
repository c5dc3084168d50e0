import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

/** Starts main.ts and resolves with the JSON of its `LTI_PLATFORM` line. */
function start(args: string[]): Promise<Record<string, unknown>> {
  child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('LTI_PLATFORM '));
      if (line) resolve(JSON.parse(line.slice('LTI_PLATFORM '.length)));
    });
    child!.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child!.once('exit', (code) => reject(new Error(`main.ts exited with ${code}: ${err}`)));
  });
}

describe('main.ts', () => {
  it('serves the platform with a demo course and a tool from flags, and prints its URLs', async () => {
    const summary = await start([
      '--port',
      '0',
      '--tool-login',
      'http://127.0.0.1:9/login',
      '--tool-launch',
      'http://127.0.0.1:9/launch',
      '--tool-jwks',
      'http://127.0.0.1:9/jwks',
      '--tool-client-id',
      'demo-client',
      '--link',
      'Linux networking 101',
      '--link-points',
      '10',
      '--link-custom',
      'lab=linux-net-101',
    ]);
    expect(summary.tool).toMatchObject({ clientId: 'demo-client' });
    const jwks = (await (await fetch(summary.jwks as string)).json()) as { keys: unknown[] };
    expect(jwks.keys).toHaveLength(1);
    const pages = summary.coursePages as Record<string, string>;
    const page = await (await fetch(pages.alice!)).text();
    expect(page).toContain('Networking 101');
    expect(page).toContain('Linux networking 101');
    const login = await (await fetch(`${summary.url}/launch?link=${summary.link}&user=alice`)).text();
    expect(login).toContain('action="http://127.0.0.1:9/login"');
    expect(login).toContain('name="lti_message_hint"');
  });
});
