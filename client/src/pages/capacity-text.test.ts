import { describe, expect, it } from 'vitest';
import { bytes, cores, holderText, share } from './capacity-text.js';

describe('capacity in words', () => {
  it('says cores from millicores, singular for one', () => {
    expect(cores(0)).toBe('0 cores');
    expect(cores(250)).toBe('0.25 cores');
    expect(cores(500)).toBe('0.5 cores');
    expect(cores(1000)).toBe('1 core');
    expect(cores(8000)).toBe('8 cores');
    expect(cores(12_300)).toBe('12.3 cores');
  });

  it('says bytes in binary units', () => {
    expect(bytes(0)).toBe('0 B');
    expect(bytes(32 * 2 ** 20)).toBe('32 MiB');
    expect(bytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
    expect(bytes(18 * 2 ** 30)).toBe('18 GiB');
    expect(bytes(300 * 2 ** 20)).toBe('300 MiB');
  });

  it('gives a share of a limit, none for a limit of 0, tight from 90 %', () => {
    expect(share(3, 100)).toEqual({ text: '3 of 100', ratio: 0.03, tight: false });
    expect(share(9, 10)).toMatchObject({ ratio: 0.9, tight: true });
    expect(share(12, 10)).toMatchObject({ text: '12 of 10', ratio: 1, tight: true });
    expect(share(5, 0)).toEqual({ text: '5 (no limit)', tight: false });
    expect(share(500, 2000, cores).text).toBe('0.5 cores of 2 cores');
  });

  it('names a job holder by host and process', () => {
    expect(holderText('lab-1:4242:a1b2c3')).toBe('lab-1 (process 4242)');
    expect(holderText('odd')).toBe('odd');
  });
});
