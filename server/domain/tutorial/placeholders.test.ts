import { describe, expect, it } from 'vitest';
import { encodeValue, holdVariables, referencedVariables } from './placeholders.js';

describe('placeholders', () => {
  it('holds known references out of the markdown and restores them encoded', () => {
    const held = holdVariables('a {{user.name}} b {{ vars.x }}{{user.name}}', { 'user.name': '<N>', 'vars.x': '1' });
    expect(held.markdown).not.toContain('{{');
    expect(held.markdown).not.toContain('<N>');
    expect(held.restore(held.markdown)).toBe('a &#x3c;N&#x3e; b 1&#x3c;N&#x3e;');
  });

  it('leaves text that looks like a placeholder alone', () => {
    const first = holdVariables('{{vars.x}}', { 'vars.x': 'v' }).markdown;
    const marker = first.replace(/\d+.*$/, '');
    const held = holdVariables(`${marker}0${marker} {{vars.x}}`, { 'vars.x': 'v' });
    expect(held.restore(held.markdown)).toBe(`${marker}0${marker} v`);
  });

  it('encodes every character but ASCII letters and digits', () => {
    expect(encodeValue('aZ9 "\'<>&=`é😀')).toBe('aZ9&#x20;&#x22;&#x27;&#x3c;&#x3e;&#x26;&#x3d;&#x60;&#xe9;&#x1f600;');
  });

  it('lists the reserved references of a page, not escaped ones or other templates', () => {
    expect(
      referencedVariables(
        '{{user.name}} {{ systems.server.password }} \\{{vars.x}} {{ .Values.y }} {{foo}} {{user.name}}',
      ),
    ).toEqual(['user.name', 'systems.server.password']);
  });

  it('does not take inherited properties for values', () => {
    expect(holdVariables('{{vars.constructor}}', {}).unknown).toEqual(['vars.constructor']);
  });
});
