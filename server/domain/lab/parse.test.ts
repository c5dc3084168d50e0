import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Problem } from '../../errors.js';
import { type LabBundle, readLabFolder } from './bundle.js';
import { parseLab } from './parse.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function bundle(files: Record<string, string | Buffer>): LabBundle {
  return { files: new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text)])) };
}

/** Problems as `path: message` lines, the way the CLI prints them. */
function problemsOf(files: Record<string, string | Buffer>): string[] {
  const result = parseLab(bundle(files));
  return result.ok ? [] : result.problems.map((p: Problem) => `${p.path}: ${p.message}`);
}

async function folderProblems(folder: string): Promise<string[]> {
  const read = await readLabFolder(`${repo}${folder}`);
  if (!read.ok) throw new Error(JSON.stringify(read.problems));
  const result = parseLab(read.bundle);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

const page = '# Page\n';

describe('parseLab: example labs', () => {
  it.each(['labs/net-basics', 'labs/vm-and-container'])('%s is valid and complete', async (folder) => {
    const read = await readLabFolder(`${repo}${folder}`);
    if (!read.ok) throw new Error(JSON.stringify(read.problems));
    const result = parseLab(read.bundle);
    if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    expect(result.bundle).toBe(read.bundle);
    const steps = result.lab.tutorial.pages.flatMap((p) => p.steps);
    expect(result.lab.tutorial.pages.length).toBeGreaterThanOrEqual(2);
    // `lab test` proves a lab with the solutions: every checked step needs one.
    for (const step of steps.filter((s) => s.check)) expect(step.solution, step.id).toBeDefined();
  });

  it('net-basics: a desktop client and a terminal server, both containers', async () => {
    const read = await readLabFolder(`${repo}labs/net-basics`);
    const result = read.ok ? parseLab(read.bundle) : undefined;
    expect(result?.ok && result.lab.systems).toEqual([
      expect.objectContaining({
        name: 'client',
        kind: 'container',
        image: 'lab-orchestrator/desktop',
        consoles: ['terminal', 'desktop'],
      }),
      expect.objectContaining({
        name: 'server',
        kind: 'container',
        image: 'lab-orchestrator/shell',
        consoles: ['terminal'],
      }),
    ]);
  });

  it('vm-and-container: a VM with a generated password and a container; checks on both', async () => {
    const read = await readLabFolder(`${repo}labs/vm-and-container`);
    const result = read.ok ? parseLab(read.bundle) : undefined;
    if (!result?.ok) throw new Error('invalid');
    const [server, client] = result.lab.systems;
    expect(server).toMatchObject({
      kind: 'vm',
      image: 'lab-orchestrator/debian-vm',
      user: { name: 'student', password: 'generate' },
    });
    expect(server!.cloudInit).toMatch(/^#cloud-config\n/);
    expect(client).toMatchObject({ kind: 'container', image: 'lab-orchestrator/shell' });
    const checked = result.lab.tutorial.pages.flatMap((p) => p.steps).flatMap((s) => (s.check ? [s.check.system] : []));
    expect(new Set(checked)).toEqual(new Set(['server', 'client']));
  });
});

describe('parseLab: broken labs in test/fixtures/labs', () => {
  it('bad-yaml: syntax errors with their lines, and nothing else', async () => {
    expect(await folderProblems('test/fixtures/labs/bad-yaml')).toEqual([
      'lab.yaml:9: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'lab.yaml:9: YAML syntax: Nested mappings are not allowed in compact mappings',
      'lab.yaml:9: YAML syntax: Implicit keys need to be on a single line',
      'lab.yaml:10: YAML syntax: Nested mappings are not allowed in compact mappings',
      'lab.yaml:10: YAML syntax: Implicit keys need to be on a single line',
      'lab.yaml:12: YAML syntax: Map keys must be unique',
    ]);
  });

  it('schema-errors: every schema problem with file, line and field', async () => {
    expect(await folderProblems('test/fixtures/labs/schema-errors')).toEqual([
      'lab.yaml:2 name: expected a DNS label: lower-case letters, digits and "-", starting with a letter, at most 63',
      'lab.yaml:3 title: expected a title',
      'lab.yaml:4 colour: unknown key "colour"; allowed here: name, title, description, limits, systems, network, variables, tutorial',
      'lab.yaml:6 limits.ttl: expected a duration such as "90s", "30m", "2h" or "1d"',
      'lab.yaml:7 limits.idle: expected a duration such as "90s", "30m", "2h" or "1d"',
      'lab.yaml:8 limits.maxInstancesPerUser: expected a number ≥ 1',
      'lab.yaml:13 systems[0].consoles[1]: expected "terminal" or "desktop"',
      'lab.yaml:14 systems[0].resources.cpu: expected a CPU quantity such as "500m" or "1"',
      'lab.yaml:14 systems[0].resources.memory: expected a memory quantity such as "256Mi" or "1Gi"',
      'lab.yaml:15 systems[0].cloudInit: cloudInit is only for systems of kind "vm"',
      'lab.yaml:17 systems[1].image: required, but missing',
      'lab.yaml:17 systems[1].name: duplicate system name "client"',
      'lab.yaml:19 systems[1].imgae: unknown key "imgae" (did you mean "image"?); allowed here: name, kind, image, consoles, resources, user, disk, cloudInit, command, env, ports',
      'lab.yaml:20 systems[1].ports[1]: expected a number ≤ 65535',
      'lab.yaml:21 systems[2].name: required, but missing',
      'lab.yaml:21 systems[2].kind: expected "container" or "vm"',
      'lab.yaml:23 systems[2].user.name: expected a Unix user name',
      'lab.yaml:24 network.internet: expected true or false, got text "yes"',
      'lab.yaml:26 variables["2fast"]: expected a name of letters, digits and "_", not starting with a digit',
      'lab.yaml:30 tutorial.pages[0].body: expected a path inside the lab folder such as "pages/01.md" (no leading "/", no "." or "..")',
      'lab.yaml:32 tutorial.pages[0].steps[0].id: expected an id of lower-case letters, digits, "-" and "_"',
      'lab.yaml:34 tutorial.pages[0].steps[0].check.timeout: expected a duration such as "90s", "30m", "2h" or "1d"',
      'lab.yaml:34 tutorial.pages[0].steps[0].check.system: no system named "nowhere" in this lab',
      'lab.yaml:35 tutorial.pages[0].steps[0].points: expected a number ≥ 0',
      'lab.yaml:37 tutorial.pages[0].steps[1].text: expected the text of the step',
      'lab.yaml:38 tutorial.pages[0].steps[1].solution.run: expected text or a list',
      'lab.yaml:39 tutorial.pages[0].steps[2].id: duplicate step id "second"',
    ]);
  });

  it('missing-files: a missing page, missing links and unknown variables, each with its line', async () => {
    const catalogue = 'use one of user.name, instance.id, systems.NAME.user, systems.NAME.password, vars.NAME';
    expect(await folderProblems('test/fixtures/labs/missing-files')).toEqual([
      'lab.yaml:20 tutorial.pages[0].steps[0].text: unknown variable "systems.server.secret": a system offers only "user" and "password"',
      'lab.yaml:22 tutorial.pages[1].body: file "pages/02.md" is not in the lab',
      'pages/01.md:4: unknown variable "systems.client.user": system "client" has no "user"',
      'pages/01.md:6: "../assets/network.png": no file "assets/network.png" in the lab',
      'pages/01.md:8: unknown variable "vars.host": the lab defines no variable "host" under "variables"',
      'pages/01.md:8: unknown variable "systems.db.password": no system named "db" in this lab',
      'pages/01.md:15: "02.md" is not a file under assets/ of the lab',
      'pages/01.md:16: "assets/logo.svg": no file "assets/logo.svg" in the lab',
      `pages/01.md:17: unknown variable "course.name": ${catalogue}`,
    ]);
  });

  it('no-lab-yaml: says that lab.yaml is missing', async () => {
    expect(await folderProblems('test/fixtures/labs/no-lab-yaml')).toEqual([
      'lab.yaml: missing: a lab needs a lab.yaml at the top of its folder',
    ]);
  });
});

describe('parseLab: lines and fields', () => {
  const head = 'name: demo\ntitle: Demo\n';

  it('names the line of a bad list item, as in the issue', () => {
    const yaml = [
      '# comment',
      '# comment',
      'name: demo',
      'title: Demo',
      'limits:',
      '  ttl: 2h',
      'systems:',
      '  - name: client',
      '    kind: container',
      '    image: lab-orchestrator/shell',
      '  - name: server',
      '    kind: container',
      '    image: lab-orchestrator/shell',
      '    consoles:',
      '      - tty',
      '',
    ].join('\n');
    expect(problemsOf({ 'lab.yaml': yaml })).toEqual([
      'lab.yaml:15 systems[1].consoles[0]: expected "terminal" or "desktop"',
    ]);
  });

  it('points a missing key at its parent', () => {
    const yaml = `${head}systems:\n  - kind: container\n    image: x\n  -\n    name: b\n    image: y\n`;
    expect(problemsOf({ 'lab.yaml': yaml })).toEqual([
      'lab.yaml:4 systems[0].name: required, but missing',
      'lab.yaml:7 systems[1].kind: required, but missing',
    ]);
  });

  it('points an unknown key at the key itself and suggests the near one', () => {
    const yaml = `${head}systems:\n  - name: a\n    kind: container\n    image: x\n    consols: [terminal]\n`;
    expect(problemsOf({ 'lab.yaml': yaml })).toEqual([
      'lab.yaml:7 systems[0].consols: unknown key "consols" (did you mean "consoles"?); allowed here: name, kind, image, consoles, resources, user, disk, cloudInit, command, env, ports',
    ]);
  });

  it('follows YAML anchors and aliases', () => {
    const yaml = `${head}x-base: &base\n  kind: container\nsystems:\n  - name: a\n    kind: pod\n    image: x\n`;
    expect(problemsOf({ 'lab.yaml': yaml })).toEqual([
      'lab.yaml:3 x-base: unknown key "x-base"; allowed here: name, title, description, limits, systems, network, variables, tutorial',
      'lab.yaml:7 systems[0].kind: expected "container" or "vm"',
    ]);
  });

  it('names the line of a YAML syntax error', () => {
    expect(problemsOf({ 'lab.yaml': `${head}systems:\n  - name: "a\n` })).toEqual([
      'lab.yaml:4: YAML syntax: Missing closing "quote',
    ]);
    expect(problemsOf({ 'lab.yaml': `${head}\tsystems: []\n` })).toEqual([
      'lab.yaml:3: YAML syntax: Tabs are not allowed as indentation',
    ]);
  });

  it('refuses more than one YAML document', () => {
    expect(problemsOf({ 'lab.yaml': `${head}---\nname: other\n` })).toEqual([
      'lab.yaml:3: YAML syntax: Source contains multiple documents; please use YAML.parseAllDocuments()',
    ]);
  });

  it('refuses an empty lab.yaml and one that is not a mapping', () => {
    const message = 'lab.yaml:1: expected a mapping of keys such as name, title, systems';
    expect(problemsOf({ 'lab.yaml': '' })).toEqual([message]);
    expect(problemsOf({ 'lab.yaml': '- a\n- b\n' })).toEqual([message]);
  });

  it('refuses a lab.yaml that is not UTF-8 text', () => {
    expect(problemsOf({ 'lab.yaml': Buffer.from([0x6e, 0x61, 0xff, 0xfe]) })).toEqual(['lab.yaml: not UTF-8 text']);
  });

  it('stops an alias bomb instead of expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++)
      bomb.push(
        `${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(10)
          .fill(`*${'abcdefgh'[i - 1]}`)
          .join(', ')}]`,
      );
    const [problem] = problemsOf({ 'lab.yaml': `${bomb.join('\n')}\n` });
    expect(problem).toMatch(/^lab\.yaml: YAML: Excessive alias count/);
  });
});

describe('parseLab: pages, links and variables', () => {
  const labYaml = (extra = '') =>
    [
      'name: demo',
      'title: Demo',
      'systems:',
      '  - name: server',
      '    kind: vm',
      '    image: lab-orchestrator/debian-vm',
      '    user: { name: student }',
      'variables: { port: "8080" }',
      'tutorial:',
      '  pages:',
      '    - title: One',
      '      body: pages/01.md',
      extra,
    ].join('\n');

  it('accepts every variable of the catalogue, and assets relative to the page or to the lab', () => {
    const md = [
      'Hi {{user.name}} ({{ instance.id }}).',
      'Log in as {{systems.server.user}} / {{systems.server.password}} on port {{vars.port}}.',
      '![a](../assets/a.png) ![b](assets/b%20c.png) <img src="assets/a.png">',
      '[web](https://example.org) [mail](mailto:a@b.c) [top](#hi) [file](../assets/a.png#x)',
      '`{{.Name}}` is Go template syntax, not a variable.',
    ].join('\n');
    const result = parseLab(
      bundle({
        'lab.yaml': labYaml(),
        'pages/01.md': md,
        'assets/a.png': 'png',
        'assets/b c.png': 'png',
      }),
    );
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('checks variables in step texts and hints, at their lab.yaml line', () => {
    const steps = [
      '      steps:',
      '        - id: a',
      '          text: Log in as {{systems.server.user}}',
      '          hint: Ask {{vars.teacher}}',
    ].join('\n');
    expect(problemsOf({ 'lab.yaml': labYaml(steps), 'pages/01.md': page })).toEqual([
      'lab.yaml:16 tutorial.pages[0].steps[0].hint: unknown variable "vars.teacher": the lab defines no variable "teacher" under "variables"',
    ]);
  });

  it('checks a page file used twice only once', () => {
    const second = '    - title: Again\n      body: pages/01.md\n';
    expect(problemsOf({ 'lab.yaml': labYaml(second), 'pages/01.md': '{{vars.nope}}\n' })).toEqual([
      'pages/01.md:1: unknown variable "vars.nope": the lab defines no variable "nope" under "variables"',
    ]);
  });

  it('refuses a page that is not UTF-8 text, and links the renderer would refuse', () => {
    expect(problemsOf({ 'lab.yaml': labYaml(), 'pages/01.md': Buffer.from([0xc3, 0x28]) })).toEqual([
      'pages/01.md: not UTF-8 text',
    ]);
    // markdown-it itself leaves `javascript:` links as text (line 4), so only the others are links.
    const md = '\n![x](/etc/hosts)\n[y](../../z.md)\n[z](javascript:alert(1))\n![w](data:image/png;base64,AA)\n';
    expect(problemsOf({ 'lab.yaml': labYaml(), 'pages/01.md': md })).toEqual([
      'pages/01.md:2: absolute paths are not allowed; link a file of the lab with a relative path',
      'pages/01.md:3: "../../z.md" is not a file under assets/ of the lab',
      'pages/01.md:5: the "data:" scheme is not allowed',
    ]);
  });

  it('reports schema and file problems in one list', () => {
    const yaml = labYaml().replace('title: Demo', 'title: ""');
    expect(problemsOf({ 'lab.yaml': yaml })).toEqual([
      'lab.yaml:2 title: expected a title',
      'lab.yaml:12 tutorial.pages[0].body: file "pages/01.md" is not in the lab',
    ]);
  });
});
