import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { labSchema } from '../../domain/lab/schema.js';
import type { SystemSpec } from '../runtime.js';
import { buildUserData } from './cloud-init.js';

function vm(cloudInit?: string, withUser = true): SystemSpec {
  const lab = labSchema.parse({
    name: 'l',
    title: 'L',
    systems: [{ name: 'box', kind: 'vm', image: 'i', ...(withUser ? { user: { name: 'ada' } } : {}), cloudInit }],
  });
  const definition = lab.systems[0];
  if (!definition) throw new Error('no system');
  return { definition, ...(withUser ? { credentials: { user: 'ada', password: 'pw-1' } } : {}) };
}

describe('buildUserData', () => {
  it('sets the host name even without a user or lab user-data', () => {
    const doc = parse(buildUserData(vm(undefined, false)));
    expect(doc).toEqual({ hostname: 'box', preserve_hostname: false, manage_etc_hosts: true });
  });

  it('keeps the lab’s users after the generated one and its other keys, but not its host name', () => {
    const text = buildUserData(vm('#cloud-config\nhostname: other\nusers: [{name: bob}]\nruncmd: [[touch, /ok]]\n'));
    const doc = parse(text);
    expect(doc.hostname).toBe('box');
    expect(doc.users.map((u: { name: string }) => u.name)).toEqual(['ada', 'bob']);
    expect(doc.runcmd).toEqual([['touch', '/ok']]);
  });

  it('merges the lab’s chpasswd users with the generated password', () => {
    const doc = parse(
      buildUserData(vm('#cloud-config\nchpasswd:\n  users: [{name: root, password: x, type: text}]\n')),
    );
    expect(doc.chpasswd.users.map((u: { name: string }) => u.name)).toEqual(['ada', 'root']);
    expect(doc.chpasswd.expire).toBe(false);
  });

  it('sends a lab shell script beside the generated cloud-config in a MIME multipart', () => {
    const text = buildUserData(vm('#!/bin/sh\necho hi > /tmp/hi\n'));
    expect(text).toMatch(/^Content-Type: multipart\/mixed; boundary="([^"]+)"/);
    expect(text).toContain('Content-Type: text/cloud-config');
    expect(text).toContain('Content-Type: text/x-shellscript');
    expect(text).toContain('echo hi > /tmp/hi');
    expect(text).toContain('hostname: box');
  });

  it('names the system when the lab’s cloud-config is not YAML or not a mapping', () => {
    expect(() => buildUserData(vm('#cloud-config\nusers: [unclosed\n'))).toThrowError(
      /system "box": cloudInit is not valid YAML/,
    );
    expect(() => buildUserData(vm('#cloud-config\n- a\n- b\n'))).toThrowError(
      /system "box": cloudInit must be a #cloud-config mapping/,
    );
  });
});
