import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hostsFile, kernelIdentity, metaData, networkConfig, type SeedInput, userData } from './cloud-init-seed.js';

const input: SeedInput = {
  instanceId: 'i-1',
  hostname: 'server',
  mac: '52:54:00:aa:bb:cc',
  net: {
    bridge: 'br0',
    address: '10.9.0.10/24',
    gateway: '10.9.0.1',
    dns: '10.9.0.1',
    hosts: { server: '10.9.0.10', client: '10.9.0.11' },
  },
  user: { name: 'student', password: 's3cret' },
};

describe('cloud-init seed', () => {
  it('creates the learner with the generated password and keeps /etc/hosts managed', () => {
    const text = userData(input);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const data = parse(text);
    expect(data).toMatchObject({ hostname: 'server', manage_etc_hosts: true, ssh_pwauth: true });
    expect(data.users[0]).toMatchObject({ name: 'student', plain_text_passwd: 's3cret', lock_passwd: false });
  });

  it('puts every system of the instance into the hosts template', () => {
    expect(hostsFile(input)).toContain('10.9.0.11 client\n');
    expect(hostsFile(input)).toContain('10.9.0.10 server\n');
    expect(hostsFile(input).startsWith('## template:jinja\n')).toBe(true);
  });

  it('merges the lab cloud-config: lists appended, the host name kept', () => {
    const data = parse(
      userData({
        ...input,
        cloudInit:
          '#cloud-config\nhostname: evil\nruncmd: [[touch, /x]]\nwrite_files:\n  - path: /etc/motd\n    content: hi\n',
      }),
    );
    expect(data.hostname).toBe('server');
    expect(data.runcmd).toEqual([['touch', '/x']]);
    expect(data.write_files.map((f: { path: string }) => f.path)).toEqual([
      '/etc/cloud/templates/hosts.debian.tmpl',
      '/etc/motd',
    ]);
  });

  it('refuses a lab cloud-config that is not a mapping, naming the field', () => {
    expect(() => userData({ ...input, cloudInit: '- a\n- b\n' })).toThrow(/cloudInit must be a #cloud-config mapping/);
    expect(() => userData({ ...input, cloudInit: 'a: [' })).toThrow(/cloudInit is not valid YAML/);
  });

  it('gives a static address matched by MAC, with the gateway only when there is one', () => {
    const lab = parse(networkConfig(input)).ethernets.lab;
    expect(lab).toMatchObject({ match: { macaddress: '52:54:00:aa:bb:cc' }, addresses: ['10.9.0.10/24'] });
    expect(lab.routes).toEqual([{ to: '0.0.0.0/0', via: '10.9.0.1' }]);
    const internal = parse(networkConfig({ ...input, net: { ...input.net, gateway: undefined, dns: undefined } }))
      .ethernets.lab;
    expect(internal.routes).toBeUndefined();
    expect(internal.nameservers).toBeUndefined();
  });

  it('names the instance in meta-data and the identity on the kernel command line', () => {
    expect(parse(metaData(input, '42'))).toEqual({ 'instance-id': 'i-1.server.42', 'local-hostname': 'server' });
    expect(kernelIdentity(input)).toBe(
      'lab.hostname=server lab.address=10.9.0.10/24 lab.gateway=10.9.0.1 lab.dns=10.9.0.1 lab.hosts=server=10.9.0.10,client=10.9.0.11',
    );
  });
});
