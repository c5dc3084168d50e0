/**
 * The tutorial authors' CLI as they run it: `lab test` on the example labs
 * that use only containers, on the real local runtime (Podman), a lab whose
 * checks do not hold, and the Killercoda import of the test scenario.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { podman, prepareLocalRuntime } from './local-runtime-setup.js';

const run = promisify(execFile);
const SCOPE = `tut-cli-${process.pid}`;

async function cli(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run('node', ['bin/lab-orchestrator.js', ...args], {
      env: { ...process.env, RUNTIME: 'local', RUNTIME_SCOPE: SCOPE, LOG_LEVEL: 'silent', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const leftovers = (id: string) =>
  podman('ps', '-a', '--filter', `label=lab-orchestrator.instance=${id}`, '--format', '{{.Names}}').trim();

const instanceOf = (stdout: string) => /starting instance (labtest-[0-9a-f]+)/.exec(stdout)![1]!;

beforeAll(() => {
  prepareLocalRuntime(['shell', 'desktop']);
});

describe('lab-orchestrator lab test', () => {
  it('proves every checked step of every example lab that uses only containers, and removes the instance', async () => {
    const labs = fs
      .readdirSync('labs')
      .filter((name) => fs.existsSync(path.join('labs', name, 'lab.yaml')))
      .filter((name) => {
        const lab = parse(fs.readFileSync(path.join('labs', name, 'lab.yaml'), 'utf8')) as {
          systems: Array<{ kind: string }>;
        };
        return lab.systems.every((s) => s.kind === 'container');
      });
    expect(labs).toContain('net-basics');
    for (const name of labs) {
      const res = await cli({}, 'lab', 'test', `labs/${name}`);
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`^${name}: (\\d+) of \\1 checked step\\(s\\) proven$`, 'm'));
      expect(leftovers(instanceOf(res.stdout))).toBe('');
      if (name !== 'net-basics') continue;
      for (const step of ['own-address', 'server-address', 'serve', 'fetch'])
        expect(res.stdout).toMatch(
          new RegExp(`^  proven  ${step}: fails before its solution .*; passes after it$`, 'm'),
        );
      expect(res.stdout).toMatch(/^ {2}ticked {2}ping-server: /m);
      expect(res.stdout).toContain('net-basics: 4 of 4 checked step(s) proven');
    }
  });

  it('exits 1 and says which step is wrong when a check passes before its solution or fails after it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-labtest-'));
    fs.mkdirSync(path.join(dir, 'pages'));
    fs.writeFileSync(path.join(dir, 'pages/01.md'), '# One\n');
    fs.writeFileSync(
      path.join(dir, 'lab.yaml'),
      `name: broken-checks
title: Checks that prove nothing
systems:
  - { name: box, kind: container, image: lab-orchestrator/shell }
tutorial:
  pages:
    - title: One
      body: pages/01.md
      steps:
        - id: always
          text: A check that always passes
          check: { system: box, run: "true" }
          solution: { system: box, run: "true" }
        - id: wrong-solution
          text: A solution that does not do the work
          check: { system: box, run: "test -f /tmp/x" }
          solution: { system: box, run: "touch /tmp/y" }
        - id: no-solution
          text: No solution
          check: { system: box, run: "test -f /tmp/z" }
        - id: good
          text: Good
          check: { system: box, run: "test -f /tmp/g" }
          solution: { system: box, run: "touch /tmp/g" }
`,
    );
    const res = await cli({}, 'lab', 'test', dir, '--settle', '2');
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/^ {2}failed {2}always: passes before its solution ran/m);
    expect(res.stdout).toMatch(
      /^ {2}failed {2}wrong-solution: fails before .*; still fails after its solution \(exit 1\)$/m,
    );
    expect(res.stdout).toMatch(/^ {2}failed {2}no-solution: .*has no solution/m);
    expect(res.stdout).toMatch(/^ {2}proven {2}good: /m);
    expect(res.stdout).toContain('broken-checks: 1 of 4 checked step(s) proven');
    expect(res.stderr).toContain('broken-checks: not every checked step is proven');
    expect(leftovers(instanceOf(res.stdout))).toBe('');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits 1 for an invalid lab and 2 when there is no runtime to run it on', async () => {
    const invalid = await cli({}, 'lab', 'test', 'test/fixtures/labs/schema-errors');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/problem\(s\)/);
    const none = await cli({ RUNTIME: 'none' }, 'lab', 'test', 'labs/net-basics');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/RUNTIME=none: lab test needs a runtime/);
  });
});

describe('lab-orchestrator lab from-killercoda', () => {
  it('converts the test scenario into a valid lab whose check runs for real', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lo-kc-')), 'lab');
    const res = await cli({}, 'lab', 'from-killercoda', 'test/fixtures/killercoda/hello-files', out);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('not mapped: intro background script setup.sh: not run');
    expect(res.stdout).toContain('lab "hello-files" written to');
    expect((await cli({}, 'lab', 'validate', out)).code).toBe(0);
    // Killercoda has no solutions: lab test runs the check (it fails before the work) and says what is missing.
    const tested = await cli({}, 'lab', 'test', out);
    expect(tested.code).toBe(1);
    expect(tested.stdout).toMatch(/^ {2}failed {2}step1: fails before its solution \(exit 1\); has no solution/m);
    expect(tested.stdout).toMatch(/^ {2}ticked {2}step2: /m);
    const missing = await cli({}, 'lab', 'from-killercoda', 'test/fixtures/killercoda/no-such', out);
    expect(missing.code).toBe(1);
  });
});
