import { describe, expect, it } from 'vitest';
import { loadConfig, trustProxy } from './config.js';

const base = { MONGODB_URI: 'mongodb://127.0.0.1:27017/x' };

describe('TRUST_PROXY', () => {
  it('defaults to loopback', () => {
    expect(trustProxy(loadConfig(base).TRUST_PROXY)).toEqual(['loopback']);
  });

  it('takes the forms Express knows', () => {
    expect(trustProxy('false')).toBe(false);
    expect(trustProxy('true')).toBe(true);
    expect(trustProxy('2')).toBe(2);
    expect(trustProxy('10.0.0.0/8, loopback,fd00::/8, 192.0.2.1')).toEqual([
      '10.0.0.0/8',
      'loopback',
      'fd00::/8',
      '192.0.2.1',
    ]);
  });

  it.each(['proxy.example', '10.0.0.0/33', '10.0.0.1/8/1', 'fd00::/129', 'loopback,', ' '])(
    'refuses %j naming the variable',
    (value) => {
      expect(() => loadConfig({ ...base, TRUST_PROXY: value })).toThrow(
        /TRUST_PROXY: expected true, false, a hop count/,
      );
    },
  );
});
