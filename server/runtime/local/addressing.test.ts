import { describe, expect, it } from 'vitest';
import { overlaps, parseSubnet, pickSubnet, systemAddress } from './addressing.js';

describe('instance addressing', () => {
  it('picks the first /24 of the pool that no network uses', () => {
    expect(pickSubnet('10.123.0.0/16', []).cidr).toBe('10.123.0.0/24');
    expect(pickSubnet('10.123.0.0/16', ['10.123.0.0/24', '10.88.0.0/16', '10.123.2.0/24']).cidr).toBe('10.123.1.0/24');
  });

  it('skips subnets that overlap a wider network in use', () => {
    expect(pickSubnet('10.123.0.0/16', ['10.123.0.0/23']).cidr).toBe('10.123.2.0/24');
  });

  it('moves past subnets the engine refused', () => {
    expect(pickSubnet('10.123.0.0/16', ['10.123.0.0/24'], 2).cidr).toBe('10.123.3.0/24');
  });

  it('says so when the pool is full', () => {
    expect(() => pickSubnet('10.123.0.0/16', ['10.123.0.0/16'])).toThrow(/no free subnet left in 10.123.0.0\/16/);
  });

  it('refuses a pool that is not a /16', () => {
    expect(() => pickSubnet('10.123.0.0/20', [])).toThrow(/subnet pool "10.123.0.0\/20" is not usable/);
  });

  it('gives each system a fixed address by its place in the lab', () => {
    const subnet = pickSubnet('10.123.0.0/16', []);
    expect(subnet.gateway).toBe('10.123.0.1');
    expect(systemAddress(subnet, 0)).toBe('10.123.0.10');
    expect(systemAddress(subnet, 2)).toBe('10.123.0.12');
    expect(() => systemAddress(subnet, 240)).toThrow(/at most 240 systems/);
  });

  it('reads back only /24 subnets', () => {
    expect(parseSubnet('10.123.7.0/24')?.prefix).toBe('10.123.7');
    expect(parseSubnet('10.123.0.0/16')).toBeUndefined();
    expect(parseSubnet(undefined)).toBeUndefined();
  });

  it('compares ranges', () => {
    expect(overlaps('10.0.0.0/8', '10.123.4.0/24')).toBe(true);
    expect(overlaps('10.123.4.0/24', '10.123.5.0/24')).toBe(false);
    expect(overlaps('fd00::/64', '10.123.5.0/24')).toBe(false);
  });
});
