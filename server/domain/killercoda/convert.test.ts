import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertMarkdown, convertScenario, labName } from './convert.js';

const FIXTURE = 'test/fixtures/killercoda/hello-files';

function readFixture(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(path.relative(FIXTURE, full).split(path.sep).join('/'), fs.readFileSync(full));
    }
  };
  walk(FIXTURE);
  return files;
}

describe('Killercoda scenario import', () => {
  it('turns texts into pages, verify scripts into checks and reports what it cannot map', () => {
    const result = convertScenario(readFixture(), { image: 'lab-orchestrator/shell' });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const { lab, bundle, report } = result;
    expect(lab.name).toBe('hello-files');
    expect(lab.systems.map((s) => [s.name, s.kind, s.image])).toEqual([
      ['host01', 'container', 'lab-orchestrator/shell'],
    ]);
    expect(lab.tutorial.pages.map((p) => [p.title, p.steps.map((s) => s.id)])).toEqual([
      ['Introduction', []],
      ['Create a file', ['step1']],
      ['Read it back', ['step2']],
      ['Finish', []],
    ]);
    const [step1] = lab.tutorial.pages[1]!.steps;
    expect(step1!.check).toMatchObject({
      system: 'host01',
      run: ['bash', '-c', expect.stringContaining('[[ -f /root/hello.txt ]]')],
    });
    expect(lab.tutorial.pages[2]!.steps[0]).toMatchObject({ text: 'Done: Read it back' });
    expect(lab.tutorial.pages[2]!.steps[0]!.check).toBeUndefined();
    expect([...bundle.files.keys()]).toContain('assets/tree.svg');
    const step = bundle.files.get('pages/01-step.md')!.toString();
    expect(step).toContain('```bash run=host01\necho hello > /root/hello.txt\n```');
    expect(step).toContain('```bash run=host01\nls -l /root/hello.txt\n```');
    expect(step).toContain('```bash copy\nhello\n```');
    expect(step).toContain('curl <TRAFFIC_HOST1_8080>/status');
    expect(step).not.toContain('{{');
    expect(bundle.files.get('pages/02-step.md')!.toString()).toContain("'{{.Names}}'");
    expect(bundle.files.get('pages/00-intro.md')!.toString()).toContain('&#123;{TRAFFIC_HOST1_80}}');
    expect(report).toEqual([
      'details.assets (files copied onto the hosts): put them into the image instead',
      'intro background script setup.sh: not run',
      '00-intro.md:7: Killercoda placeholder {{TRAFFIC_HOST1_80}} has no equivalent; shown as written',
      'details.steps[0].background step1/background.sh: not run',
      '01-step.md:13: an action inside running text became plain code (`cat /root/hello.txt`)',
      '01-step.md:22: Killercoda placeholder {{TRAFFIC_HOST1_8080}} in code became <TRAFFIC_HOST1_8080>',
      '01-step.md:23: "exec interrupt" runs without pressing Ctrl+C first',
      'details.steps[1] "Read it back" has no verify script: a step the learner ticks',
    ]);
  });

  it('names the file and field of what is missing or malformed', () => {
    expect(convertScenario(new Map(), { image: 'x' })).toEqual({
      ok: false,
      problems: [{ path: 'index.json', message: 'missing: a scenario needs index.json' }],
    });
    const bad = convertScenario(new Map([['index.json', Buffer.from('{"details": {}}')]]), { image: 'x' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems[0]!.path).toBe('index.json.title');
    const missing = convertScenario(
      new Map([['index.json', Buffer.from('{"title": "T", "details": {"steps": [{"title": "S", "text": "s.md"}]}}')]]),
      { image: 'x' },
    );
    expect(missing).toEqual({
      ok: false,
      problems: [{ path: 's.md', message: 'details.steps[0].text: no such file in the scenario' }],
    });
  });

  it('makes DNS labels of titles and leaves code without actions alone', () => {
    expect(labName('Learn Git: Branches!')).toBe('learn-git-branches');
    expect(labName('2 Kubernetes')).toBe('kubernetes');
    expect(labName('???')).toBe('killercoda-scenario');
    const report: string[] = [];
    expect(convertMarkdown('```sh\nls\n```\n\n~~~\npwd\n~~~{{exec}}\n', 'p.md', report)).toBe(
      '```sh\nls\n```\n\n~~~bash run=host01\npwd\n~~~\n',
    );
    expect(report).toEqual([]);
  });
});
