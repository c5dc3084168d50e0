import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  hashPassword,
  loadSecretKey,
  newApiToken,
  newInstanceId,
  SecretBox,
  verifyPassword,
} from './secrets.js';

describe('secrets', () => {
  it('encrypts credentials so that only the same key opens them', () => {
    const box = new SecretBox(Buffer.alloc(32, 1));
    const sealed = box.encrypt('s3cret-password');
    expect(sealed).not.toContain('s3cret');
    expect(box.decrypt(sealed)).toBe('s3cret-password');
    expect(() => new SecretBox(Buffer.alloc(32, 2)).decrypt(sealed)).toThrow();
    const tampered = `${sealed.slice(0, -2)}AA`;
    expect(() => box.decrypt(tampered)).toThrow();
  });

  it('makes a key file once and reads the same key after', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-key-'));
    const a = loadSecretKey(undefined, dir);
    const b = loadSecretKey(undefined, dir);
    expect(a.equals(b)).toBe(true);
    expect(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(loadSecretKey('ab'.repeat(32), dir).equals(Buffer.alloc(32, 0xab))).toBe(true);
  });

  it('verifies passwords against their scrypt hash', async () => {
    const hash = await hashPassword('correct horse');
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('wrong horse', hash)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });

  it('makes distinct tokens, passwords and DNS-safe instance ids', () => {
    const t = newApiToken();
    expect(t.token.startsWith('lo_')).toBe(true);
    expect(t.hash).not.toContain(t.token);
    expect(newApiToken().token).not.toBe(t.token);
    expect(generatePassword()).toMatch(/^[a-zA-Z2-9]{14}$/);
    expect(newInstanceId()).toMatch(/^i[a-z2-7]{12}$/);
  });
});
