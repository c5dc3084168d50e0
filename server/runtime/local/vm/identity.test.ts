import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hostsLines, identityCommand, type VmIdentity } from './identity.js';
import { sha512Crypt } from './password-hash.js';

const identity: VmIdentity = {
  hostname: 'server',
  mac: '52:54:00:aa:bb:cc',
  previousMac: '52:54:00:11:22:33',
  net: {
    bridge: 'br0',
    address: '10.89.7.10/24',
    gateway: '10.89.7.1',
    hosts: { server: '10.89.7.10', db: '10.89.7.11' },
  },
  machineId: '0123456789abcdef0123456789abcdef',
  now: 1_800_000_000.7,
  user: { name: 'student', password: "it's secret" },
};

describe('identity of a restored VM', () => {
  it('is one shell script whose values are positional arguments', () => {
    const { argv } = identityCommand(identity);
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(4)).toEqual([
      'server',
      '52:54:00:aa:bb:cc',
      '52:54:00:11:22:33',
      '10.89.7.10/24',
      '10.89.7.1',
      '',
      hostsLines('server', identity.net),
      '0123456789abcdef0123456789abcdef',
      '1800000000',
      'student',
    ]);
    // The script parses (POSIX sh, as busybox and Debian run it).
    execFileSync('sh', ['-n', '-c', argv[2] as string]);
  });

  it('passes the password hashed on stdin, never in argv', () => {
    const { argv, stdin } = identityCommand(identity);
    expect(argv.join(' ')).not.toContain("it's secret");
    // The guest gets the SHA-512 crypt hash, not the password.
    expect(stdin).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}\n$/);
    const salt = stdin.split('$')[2] as string;
    expect(stdin).toBe(`${sha512Crypt("it's secret", salt)}\n`);
    const { argv: noUser, stdin: none } = identityCommand({ ...identity, user: undefined });
    expect(noUser.at(-1)).toBe('');
    expect(none).toBe('');
  });

  it('lists the VM and every system of its instance in /etc/hosts', () => {
    expect(hostsLines('server', identity.net)).toBe(
      '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n10.89.7.10 server\n10.89.7.11 db\n',
    );
    expect(hostsLines('web', identity.net)).toContain('10.89.7.10 web\n');
  });

  it('refuses a machine-id that is not 32 hex digits and a password with a line break', () => {
    expect(() => identityCommand({ ...identity, machineId: 'abc' })).toThrow(/machine-id/);
    expect(() => identityCommand({ ...identity, user: { name: 'student', password: 'a\nb' } })).toThrow(/one line/);
  });
});
