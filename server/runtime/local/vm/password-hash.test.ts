import { describe, expect, it } from 'vitest';
import { sha512Crypt } from './password-hash.js';

describe('SHA-512 crypt', () => {
  it('gives the test vectors of the specification', () => {
    expect(sha512Crypt('Hello world!', 'saltstring')).toBe(
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    );
  });

  it('makes a new 16-character salt each time', () => {
    const [a, b] = [sha512Crypt('pw'), sha512Crypt('pw')];
    expect(a).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    expect(a).not.toBe(b);
  });
});
