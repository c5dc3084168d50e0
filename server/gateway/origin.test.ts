import { describe, expect, it } from 'vitest';
import { OriginPolicy } from './origin.js';

describe('OriginPolicy', () => {
  const policy = new OriginPolicy(['https://labs.example.org/', 'not a url']);
  policy.allow('http://127.0.0.1:8080');

  it('permits the public origin and added ones, whatever their path', () => {
    expect(policy.permits('https://labs.example.org')).toBe(true);
    expect(policy.permits('http://127.0.0.1:8080')).toBe(true);
  });

  it('refuses other origins, also the same host on another scheme or port', () => {
    expect(policy.permits('https://evil.example.com')).toBe(false);
    expect(policy.permits('http://labs.example.org')).toBe(false);
    expect(policy.permits('https://labs.example.org:8443')).toBe(false);
    expect(policy.permits('null')).toBe(false);
  });

  it('permits clients that send no Origin (not a browser)', () => {
    expect(policy.permits(undefined)).toBe(true);
  });
});
