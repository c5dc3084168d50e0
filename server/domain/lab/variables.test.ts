import { describe, expect, it } from 'vitest';
import {
  findVariables,
  substituteVariables,
  unknownVariableReason,
  type VariableScope,
  type VariableValues,
  variableValue,
} from './variables.js';

const scope: VariableScope = {
  systems: [
    { name: 'server', hasUser: true },
    { name: 'web-1', hasUser: true },
    { name: 'client', hasUser: false },
  ],
  vars: ['port'],
};

const values: VariableValues = {
  user: { name: 'Ada' },
  instance: { id: 'i-42' },
  systems: { server: { user: 'student', password: 's3cret' }, 'web-1': { user: 'www', password: 'p<&>' } },
  vars: { port: '8080' },
};

describe('variables', () => {
  it('finds each use with its line, allowing spaces inside the braces', () => {
    expect(findVariables('a {{user.name}}\n\nb {{ systems.web-1.user }} {{vars.port}}\n{{.Go}} {{}} {x}')).toEqual([
      { name: 'user.name', line: 1 },
      { name: 'systems.web-1.user', line: 3 },
      { name: 'vars.port', line: 3 },
    ]);
  });

  it.each([
    'user.name',
    'instance.id',
    'systems.server.user',
    'systems.server.password',
    'systems.web-1.password',
    'vars.port',
  ])('knows %s', (name) => {
    expect(unknownVariableReason(name, scope)).toBeUndefined();
  });

  it.each([
    ['user.email', 'use one of user.name, instance.id, systems.NAME.user, systems.NAME.password, vars.NAME'],
    ['user', 'use one of user.name, instance.id, systems.NAME.user, systems.NAME.password, vars.NAME'],
    ['instance.id.x', 'use one of user.name, instance.id, systems.NAME.user, systems.NAME.password, vars.NAME'],
    ['systems.db.user', 'no system named "db" in this lab'],
    ['systems.client.password', 'system "client" has no "user"'],
    ['systems.server.home', 'a system offers only "user" and "password"'],
    ['vars.host', 'the lab defines no variable "host" under "variables"'],
    ['vars', 'use one of user.name, instance.id, systems.NAME.user, systems.NAME.password, vars.NAME'],
  ])('refuses %s', (name, reason) => {
    expect(unknownVariableReason(name, scope)).toBe(`unknown variable "${name}": ${reason}`);
  });

  it('gives the value of each variable of an instance', () => {
    expect(variableValue('user.name', values)).toBe('Ada');
    expect(variableValue('instance.id', values)).toBe('i-42');
    expect(variableValue('systems.server.password', values)).toBe('s3cret');
    expect(variableValue('systems.web-1.user', values)).toBe('www');
    expect(variableValue('vars.port', values)).toBe('8080');
    expect(variableValue('vars.toString', values)).toBeUndefined();
    expect(variableValue('systems.constructor.user', values)).toBeUndefined();
  });

  it('substitutes known variables, encodes values, and leaves unknown ones as written', () => {
    const escapeHtml = (v: string) => v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
    const text = 'Hi {{user.name}}: {{ systems.web-1.password }} on {{vars.port}}; {{vars.nope}} {{.Names}}';
    expect(substituteVariables(text, values, escapeHtml)).toBe(
      'Hi Ada: p&lt;&amp;&gt; on 8080; {{vars.nope}} {{.Names}}',
    );
    expect(substituteVariables('{{systems.server.user}}@server', values)).toBe('student@server');
  });
});
