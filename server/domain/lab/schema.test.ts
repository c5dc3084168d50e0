import { describe, expect, it } from 'vitest';
import { formatFieldPath, labErrorMap } from './issues.js';
import { type LabInput, labSchema } from './schema.js';

/** The smallest valid lab; each test changes one thing. */
function lab(change: (lab: Record<string, unknown> & LabInput) => void = () => {}): LabInput {
  const base = {
    name: 'demo',
    title: 'Demo',
    systems: [{ name: 'client', kind: 'container', image: 'lab-orchestrator/shell' }],
    tutorial: {
      pages: [{ title: 'One', body: 'pages/01.md', steps: [{ id: 'first', text: 'Do it' }] }],
    },
  } as Record<string, unknown> & LabInput;
  change(base);
  return base;
}

const system = (l: LabInput, i = 0) => l.systems[i] as Record<string, unknown>;
const step = (l: LabInput) => l.tutorial!.pages![0]!.steps![0] as Record<string, unknown>;

function problems(input: unknown): string[] {
  const result = labSchema.safeParse(input, { error: labErrorMap });
  return result.success ? [] : result.error.issues.map((i) => `${formatFieldPath(i.path)}: ${i.message}`);
}

function valid(input: LabInput) {
  const result = labSchema.safeParse(input, { error: labErrorMap });
  if (!result.success) throw new Error(problems(input).join('\n'));
  return result.data;
}

describe('lab schema: defaults and accepted values', () => {
  it('fills every default of a minimal lab', () => {
    const out = valid(lab());
    expect(out.limits).toEqual({ ttl: 7200, idle: 1800, maxInstancesPerUser: 1, onExpire: 'stop' });
    expect(out.network).toEqual({ internet: false });
    expect(out.systems[0]).toEqual({
      name: 'client',
      kind: 'container',
      image: 'lab-orchestrator/shell',
      consoles: ['terminal'],
      resources: { cpu: '500m', memory: '256Mi' },
    });
    expect(out.tutorial.keepProgressOnReset).toBe(true);
    expect(out.tutorial.pages[0]!.steps[0]).toEqual({ id: 'first', text: 'Do it', points: 1 });
  });

  it('gives an empty tutorial when there is none', () => {
    expect(valid(lab((l) => delete l.tutorial)).tutorial).toEqual({ pages: [], keepProgressOnReset: true });
  });

  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1d', 86400],
  ])('reads the duration %s as %i seconds', (text, seconds) => {
    const out = valid(lab((l) => (l.limits = { ttl: text, idle: text })));
    expect(out.limits.ttl).toBe(seconds);
    expect(out.limits.idle).toBe(seconds);
  });

  it('keeps limits, network, description and variables as written', () => {
    const out = valid(
      lab((l) => {
        l.description = 'About';
        l.limits = { maxInstancesPerUser: 3, onExpire: 'pause' };
        l.network = { internet: true };
        l.variables = { port: '8080', _x2: 'y' };
      }),
    );
    expect(out.description).toBe('About');
    expect(out.limits).toMatchObject({ maxInstancesPerUser: 3, onExpire: 'pause', ttl: 7200 });
    expect(out.network.internet).toBe(true);
    expect(out.variables).toEqual({ port: '8080', _x2: 'y' });
  });

  it('accepts every field of a system', () => {
    const out = valid(
      lab((l) => {
        l.systems = [
          {
            name: 'server-1',
            kind: 'vm',
            image: 'lab-orchestrator/debian-vm',
            consoles: ['terminal', 'desktop'],
            resources: { cpu: '2', memory: '1Gi' },
            user: { name: 'student' },
            cloudInit: '#cloud-config\n',
            env: { LANG: 'C.UTF-8' },
            ports: [80, 8080],
          },
          { name: 'c', kind: 'container', image: 'x', command: ['sleep', 'infinity'], resources: { cpu: '0.5' } },
        ];
      }),
    );
    expect(out.systems[0]).toMatchObject({ user: { name: 'student', password: 'generate' }, ports: [80, 8080] });
    expect(out.systems[1]!.resources).toEqual({ cpu: '0.5', memory: '256Mi' });
    expect(out.systems[1]!.command).toEqual(['sleep', 'infinity']);
  });

  it.each(['500m', '1', '0.5', '16'])('accepts the CPU quantity %s', (cpu) => {
    expect(problems(lab((l) => (system(l).resources = { cpu })))).toEqual([]);
  });

  it.each(['64Ki', '256Mi', '2Gi'])('accepts the memory quantity %s', (memory) => {
    expect(problems(lab((l) => (system(l).resources = { memory })))).toEqual([]);
  });

  it('accepts every field of a step, with a check as text or as argv', () => {
    const out = valid(
      lab((l) => {
        l.tutorial!.pages![0]!.steps = [
          {
            id: 'a_1',
            text: 'T',
            hint: 'H',
            points: 0,
            check: { system: 'client', run: 'true', timeout: '1m' },
            solution: { system: 'client', run: ['touch', '/tmp/x'] },
          },
          { id: 'b', text: 'T', check: { system: 'client', run: ['test', '-f', '/tmp/x'] } },
        ];
      }),
    );
    const [a, b] = out.tutorial.pages[0]!.steps;
    expect(a).toMatchObject({ hint: 'H', points: 0, check: { timeout: 60 }, solution: { run: ['touch', '/tmp/x'] } });
    expect(b!.check).toEqual({ system: 'client', run: ['test', '-f', '/tmp/x'], timeout: 10 });
  });
});

describe('lab schema: every error names the field and the reason', () => {
  const dnsMessage = 'expected a DNS label: lower-case letters, digits and "-", starting with a letter, at most 63';
  const durationMessage = 'expected a duration such as "90s", "30m", "2h" or "1d"';

  it.each(['Demo', '1lab', 'lab-', 'a_b', 'a'.repeat(64), ''])('refuses the lab name %j', (name) => {
    expect(problems(lab((l) => (l.name = name)))).toEqual([`name: ${dnsMessage}`]);
  });

  it('refuses a missing and an empty title, a title of the wrong type', () => {
    expect(problems(lab((l) => delete (l as Partial<LabInput>).title))).toEqual(['title: required, but missing']);
    expect(problems(lab((l) => (l.title = '')))).toEqual(['title: expected a title']);
    expect(problems(lab((l) => ((l as Record<string, unknown>).title = 5)))).toEqual([
      'title: expected text, got the number 5: write it in quotes ("5")',
    ]);
  });

  it.each(['2 hours', '0m', '10', '1w', '-5m', '1.5h'])('refuses the duration %j', (ttl) => {
    expect(problems(lab((l) => (l.limits = { ttl })))).toEqual([`limits.ttl: ${durationMessage}`]);
  });

  it('says to quote a number or boolean that YAML did not read as text, when quoting would make it valid', () => {
    const input = lab((l) => {
      l.limits = { ttl: 3600 as never };
      system(l).resources = { cpu: 1 as never };
      system(l).user = { name: 'student', password: 1234 as never };
      system(l).env = { DEBUG: true as never };
    });
    expect(problems(input)).toEqual([
      'limits.ttl: expected text, got the number 3600',
      'systems[0].resources.cpu: expected text, got the number 1: write it in quotes ("1")',
      'systems[0].user.password: expected text, got the number 1234: write it in quotes ("1234")',
      'systems[0].env.DEBUG: expected text, got boolean true: write it in quotes ("true")',
    ]);
  });

  it('refuses limits out of range', () => {
    expect(problems(lab((l) => (l.limits = { maxInstancesPerUser: 0, onExpire: 'delete' as 'stop' })))).toEqual([
      'limits.maxInstancesPerUser: expected a number ≥ 1',
      'limits.onExpire: expected "stop" or "pause"',
    ]);
    expect(problems(lab((l) => (l.limits = { maxInstancesPerUser: 1.5 })))).toEqual([
      'limits.maxInstancesPerUser: expected a whole number, got the number 1.5',
    ]);
  });

  it('needs at least one system', () => {
    expect(problems(lab((l) => (l.systems = [])))).toEqual(['systems: a lab needs at least one system']);
  });

  it('refuses bad system fields, each at its own path', () => {
    const input = lab((l) => {
      l.systems = [
        {
          name: 'Web',
          kind: 'pod' as 'vm',
          image: '',
          consoles: ['terminal', 'vnc' as 'desktop'],
          resources: { cpu: 'lots', memory: '1GB' },
          user: { name: 'Root', password: '' },
          ports: [0, 80.5, 65536],
          env: { '1X': 'y' },
        },
      ];
    });
    expect(problems(input)).toEqual([
      `systems[0].name: ${dnsMessage}`,
      'systems[0].kind: expected "container" or "vm"',
      'systems[0].image: expected an image name',
      'systems[0].consoles[1]: expected "terminal" or "desktop"',
      'systems[0].resources.cpu: expected a CPU quantity such as "500m" or "1"',
      'systems[0].resources.memory: expected a memory quantity such as "256Mi" or "1Gi"',
      'systems[0].user.name: expected a Unix user name',
      'systems[0].user.password: must not be empty',
      'systems[0].env["1X"]: expected an environment variable name',
      'systems[0].ports[0]: expected a number ≥ 1',
      'systems[0].ports[1]: expected a whole number, got the number 80.5',
      'systems[0].ports[2]: expected a number ≤ 65535',
    ]);
  });

  it.each(['0m', '1.', 'lots', ''])('refuses the CPU quantity %j', (cpu) => {
    expect(problems(lab((l) => (system(l).resources = { cpu })))).toEqual([
      'systems[0].resources.cpu: expected a CPU quantity such as "500m" or "1"',
    ]);
  });

  it.each(['1GB', '256M', '0Mi', '1.5Gi'])('refuses the memory quantity %j', (memory) => {
    expect(problems(lab((l) => (system(l).resources = { memory })))).toEqual([
      'systems[0].resources.memory: expected a memory quantity such as "256Mi" or "1Gi"',
    ]);
  });

  it('refuses duplicate system names and duplicate consoles', () => {
    const input = lab((l) => {
      l.systems = [
        { name: 'a', kind: 'container', image: 'x', consoles: ['terminal', 'terminal'] },
        { name: 'a', kind: 'container', image: 'x' },
      ];
    });
    expect(problems(input)).toEqual([
      'systems[0].consoles[1]: duplicate console "terminal"',
      'systems[1].name: duplicate system name "a"',
    ]);
  });

  it('refuses cloudInit on a container and command on a VM', () => {
    const input = lab((l) => {
      l.systems = [
        { name: 'c', kind: 'container', image: 'x', cloudInit: '#cloud-config' },
        { name: 'v', kind: 'vm', image: 'y', command: ['sh'] },
      ];
    });
    expect(problems(input)).toEqual([
      'systems[0].cloudInit: cloudInit is only for systems of kind "vm"',
      'systems[1].command: command is only for systems of kind "container"',
    ]);
  });

  it('refuses a check or a solution on an unknown system', () => {
    const input = lab((l) => {
      step(l).check = { system: 'nowhere', run: 'true' };
      step(l).solution = { system: 'elsewhere', run: 'true' };
    });
    expect(problems(input)).toEqual([
      'tutorial.pages[0].steps[0].check.system: no system named "nowhere" in this lab',
      'tutorial.pages[0].steps[0].solution.system: no system named "elsewhere" in this lab',
    ]);
  });

  it('lists cross-field problems together with field problems', () => {
    const input = lab((l) => {
      l.title = '';
      step(l).check = { system: 'nowhere', run: 'true' };
    });
    expect(problems(input)).toEqual([
      'title: expected a title',
      'tutorial.pages[0].steps[0].check.system: no system named "nowhere" in this lab',
    ]);
  });

  it('refuses bad step fields', () => {
    const input = lab((l) => {
      l.tutorial!.pages![0]!.steps = [
        { id: 'First step', text: '', points: -1, check: { system: 'client', run: '', timeout: 'soon' } },
        { id: 'b', text: 'x', check: { system: 'client', run: [] }, solution: { system: 'client', run: 5 as never } },
        { id: 'b', text: 'y' },
      ];
    });
    expect(problems(input)).toEqual([
      'tutorial.pages[0].steps[0].id: expected an id of lower-case letters, digits, "-" and "_"',
      'tutorial.pages[0].steps[0].text: expected the text of the step',
      'tutorial.pages[0].steps[0].check.run: must not be empty',
      `tutorial.pages[0].steps[0].check.timeout: ${durationMessage}`,
      'tutorial.pages[0].steps[0].points: expected a number ≥ 0',
      'tutorial.pages[0].steps[1].check.run: expected at least one item',
      'tutorial.pages[0].steps[1].solution.run: expected text or a list',
      'tutorial.pages[0].steps[2].id: duplicate step id "b"',
    ]);
  });

  it('refuses duplicate step ids across pages', () => {
    const input = lab((l) => {
      l.tutorial!.pages!.push({ title: 'Two', body: 'pages/02.md', steps: [{ id: 'first', text: 'Again' }] });
    });
    expect(problems(input)).toEqual(['tutorial.pages[1].steps[0].id: duplicate step id "first"']);
  });

  it.each([
    ['/etc/passwd'],
    ['../outside.md'],
    ['pages/../../x.md'],
    ['pages\\01.md'],
    ['./pages/01.md'],
    ['pages//01.md'],
    [''],
  ])('refuses the page body %j', (body) => {
    expect(problems(lab((l) => (l.tutorial!.pages![0]!.body = body)))).toEqual([
      'tutorial.pages[0].body: expected a path inside the lab folder such as "pages/01.md" (no leading "/", no "." or "..")',
    ]);
  });

  it('refuses a page without title or body', () => {
    expect(problems(lab((l) => (l.tutorial!.pages = [{ title: '' } as never])))).toEqual([
      'tutorial.pages[0].title: expected a title',
      'tutorial.pages[0].body: required, but missing',
    ]);
  });

  it('refuses bad variable names and types of network and tutorial fields', () => {
    const input = lab((l) => {
      l.variables = { 'my-var': 'x', ok: 3 as never };
      l.network = { internet: 'yes' as never };
      l.tutorial!.keepProgressOnReset = 1 as never;
    });
    expect(problems(input)).toEqual([
      'network.internet: expected true or false, got text "yes"',
      'variables.my-var: expected a name of letters, digits and "_", not starting with a digit',
      'variables.ok: expected text, got the number 3: write it in quotes ("3")',
      'tutorial.keepProgressOnReset: expected true or false, got the number 1',
    ]);
  });

  it('refuses unknown keys at every level', () => {
    const input = lab((l) => {
      l.colour = 'blue';
      l.limits = { ttl: '1h', max: 2 } as never;
      system(l).imgae = 'x';
      system(l).resources = { gpu: 1 } as never;
      system(l).user = { name: 'student', pass: 'x' } as never;
      l.network = { internet: false, vlan: 1 } as never;
      (l.tutorial as Record<string, unknown>).intro = 'x';
      (l.tutorial!.pages![0] as Record<string, unknown>).text = 'x';
      step(l).check = { system: 'client', run: 'true', as: 'root' };
      step(l).solution = { system: 'client', run: 'true', timeout: '1s' };
    });
    const paths = problems(input).map((p) => p.split(':')[0]);
    expect(paths).toEqual([
      'limits',
      'systems[0].resources',
      'systems[0].user',
      'systems[0]',
      'network',
      'tutorial.pages[0].steps[0].check',
      'tutorial.pages[0].steps[0].solution',
      'tutorial.pages[0]',
      'tutorial',
      '',
    ]);
  });

  it('refuses something that is not a mapping', () => {
    expect(problems('name: x')).toEqual([': expected a mapping (key: value), got text "name: x"']);
    expect(problems(null)).toEqual([': expected a mapping (key: value), got nothing (null)']);
  });
});
