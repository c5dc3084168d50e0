import { describe, expect, it } from 'vitest';
import type { VariableValues } from '../lab/variables.js';
import { encodeValue, holdVariables } from './placeholders.js';

const values = (user: string, x = '1'): VariableValues => ({
  user: { name: user },
  instance: { id: 'i-1' },
  systems: {},
  vars: { x },
});

describe('placeholders', () => {
  it('holds known references out of the markdown and restores them encoded', () => {
    const held = holdVariables('a {{user.name}} b {{ vars.x }}{{user.name}}', values('<N>'));
    expect(held.markdown).not.toContain('{{');
    expect(held.markdown).not.toContain('<N>');
    expect(held.restore(held.markdown)).toBe('a &#x3c;N&#x3e; b 1&#x3c;N&#x3e;');
  });

  it('leaves text that looks like a placeholder alone', () => {
    const first = holdVariables('{{vars.x}}', values('n', 'v')).markdown;
    const marker = first.replace(/\d+.*$/, '');
    const held = holdVariables(`${marker}0${marker} {{vars.x}}`, values('n', 'v'));
    expect(held.restore(held.markdown)).toBe(`${marker}0${marker} v`);
  });

  it('encodes every character but ASCII letters and digits', () => {
    expect(encodeValue('aZ9 "\'<>&=`é😀')).toBe('aZ9&#x20;&#x22;&#x27;&#x3c;&#x3e;&#x26;&#x3d;&#x60;&#xe9;&#x1f600;');
  });

  it('reports names without a value once, and not inherited properties as values', () => {
    const held = holdVariables('{{vars.constructor}} {{user.email}} {{vars.constructor}} {{ .Go }}', values('n'));
    expect(held.unknown).toEqual(['vars.constructor', 'user.email']);
    expect(held.restore(held.markdown)).toBe('{{vars.constructor}} {{user.email}} {{vars.constructor}} {{ .Go }}');
  });
});
