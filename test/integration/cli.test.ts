/**
 * The admin CLI as a user runs it: a child process, its exit code, its output.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testMongoUri } from '../support/server.js';

const run = promisify(execFile);
const env = { ...process.env, MONGODB_URI: testMongoUri('lo-cli'), LOG_LEVEL: 'silent' };

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', ['bin/lab-orchestrator.js', ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('lab-orchestrator CLI', () => {
  it('validates a good lab with exit 0', async () => {
    const res = await cli('lab', 'validate', 'labs/net-basics');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/"net-basics" is valid/);
  });

  it('prints the file, line and field of every problem of a broken lab and exits 1', async () => {
    const res = await cli('lab', 'validate', 'test/fixtures/labs/schema-errors');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^lab\.yaml:13 systems\[0\]\.consoles\[1\]: expected "terminal" or "desktop"$/m);
    expect(res.stderr.trim().split('\n').length).toBeGreaterThan(10);
    expect((await cli('lab', 'validate', 'no/such/folder')).code).toBe(1);
    expect((await cli('lab', 'frobnicate')).code).toBe(1);
  });

  it('imports, lists, exports labs and creates tokens against the database', async () => {
    const first = await cli('lab', 'import', 'labs/net-basics');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/net-basics: version 1/);
    const again = await cli('lab', 'import', 'labs/net-basics');
    expect(again.stdout).toMatch(/version 1 \(unchanged/);
    expect((await cli('lab', 'list')).stdout).toMatch(/^net-basics\tv1\t/m);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-export-'));
    expect((await cli('lab', 'export', 'net-basics', out)).code).toBe(0);
    expect((await cli('lab', 'validate', out)).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'lab.yaml'), 'utf8')).toBe(
      fs.readFileSync('labs/net-basics/lab.yaml', 'utf8'),
    );
    const token = await cli('token', 'create', '--user', 'alice');
    expect(token.code).toBe(0);
    expect(token.stdout.trim()).toMatch(/^lo_[\w-]{40,}$/);
    expect((await cli('instance', 'list')).code).toBe(0);
    const bad = await cli('token', 'create', '--user', 'Not A Name');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--user/);
  });

  it('stops start-up with a message naming a wrong variable', async () => {
    const res = await run('node', ['--import', 'tsx', 'server/main.ts'], {
      env: { ...process.env, MONGODB_URI: 'postgres://nope', PORT: 'eighty' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect('code' in res && res.code).toBe(1);
    expect(res.stderr).toMatch(/MONGODB_URI: expected a MongoDB connection string/);
    expect(res.stderr).toMatch(/PORT:/);
  });
});
