/**
 * Local runtime against real Podman (its Docker-compatible socket) and the
 * images built by deploy/images/build.sh. The tests share instances and run
 * in order: provision → use → pause/resume → reset → destroy.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { RuntimeError } from '../../server/runtime/runtime.js';
import { instanceOf, newInstanceId, podman, prepareLocalRuntime } from './local-runtime-setup.js';

const twoShells = {
  name: 'two-shells',
  title: 'Two shells',
  systems: [
    { name: 'client', kind: 'container' as const, image: 'lab-orchestrator/shell' },
    {
      name: 'server',
      kind: 'container' as const,
      image: 'lab-orchestrator/shell',
      user: { name: 'student' },
      resources: { cpu: '250m', memory: '128Mi' },
    },
  ],
};

const desktopLab = {
  name: 'one-desktop',
  title: 'One desktop',
  systems: [
    {
      name: 'desk',
      kind: 'container' as const,
      image: 'lab-orchestrator/desktop',
      consoles: ['terminal' as const, 'desktop' as const],
    },
  ],
};

/** Reads from a stream until `done(received)` says so, or fails after `ms`. */
function readUntil(stream: Duplex, done: (received: Buffer) => boolean, ms = 15_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out; received: ${JSON.stringify(received.toString('latin1'))}`));
    }, ms);
    function onData(chunk: Buffer) {
      received = Buffer.concat([received, chunk]);
      if (done(received)) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(received);
      }
    }
    stream.on('data', onData);
  });
}

/** Everything podman has of an instance: containers and networks, one name a line. */
function leftovers(id: string): string {
  const containers = podman('ps', '-a', '--filter', `label=lab-orchestrator.instance=${id}`, '--format', '{{.Names}}');
  const networks = podman('network', 'ls', '--format', '{{.Name}}')
    .split('\n')
    .filter((n) => n.includes(id));
  return [...containers.split('\n'), ...networks].filter(Boolean).sort().join('\n');
}

describe('local runtime (containers)', () => {
  let runtime: LocalRuntime;
  const a = instanceOf(newInstanceId('a'), twoShells);
  const b = instanceOf(newInstanceId('b'), twoShells);
  const desk = instanceOf(newInstanceId('d'), desktopLab);

  beforeAll(() => {
    prepareLocalRuntime();
    // After the setup: it exports DOCKER_HOST, which the engine client reads.
    runtime = new LocalRuntime({ subnetPool: '10.123.0.0/16', scope: 'test-local-runtime' });
  }, 1_200_000);

  afterAll(async () => {
    for (const spec of [a, b, desk]) await runtime.destroy(spec.id).catch(() => {});
    await runtime.close();
  });

  it('starts a lab of two containers, every system ready', async () => {
    await Promise.all([runtime.provision(a), runtime.provision(b)]);
    const status = await runtime.status(a.id);
    expect(status.exists).toBe(true);
    expect(status.systems.map((s) => [s.name, s.phase])).toEqual([
      ['client', 'ready'],
      ['server', 'ready'],
    ]);
    expect(await runtime.list()).toEqual(expect.arrayContaining([a.id, b.id]));
    // Another server sharing the engine neither lists (nor so reaps) them.
    expect(await new LocalRuntime({ scope: 'someone-else' }).list()).not.toContain(a.id);
  });

  it('provision again adopts what exists', async () => {
    await runtime.provision(a);
    expect(leftovers(a.id)).toBe([`labo-${a.id}`, `labo-${a.id}-client`, `labo-${a.id}-server`].sort().join('\n'));
  });

  it('systems reach each other by name, with their host name set', async () => {
    const ping = await runtime.exec(a.id, 'client', ['ping', '-c1', '-W2', 'server']);
    expect(ping.exitCode).toBe(0);
    const hostname = await runtime.exec(a.id, 'server', ['hostname']);
    expect(hostname.stdout.trim()).toBe('server');
  });

  it('exec returns exit code, stdout and stderr apart, takes stdin, and honours a timeout', async () => {
    const result = await runtime.exec(a.id, 'client', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    const stdin = await runtime.exec(a.id, 'client', ['cat'], { stdin: 'fed through stdin' });
    expect(stdin.stdout).toBe('fed through stdin');
    const slow = await runtime.exec(a.id, 'client', ['sleep', '23'], { timeout: 1 });
    expect(slow.timedOut).toBe(true);
    // Killed inside the system, not just abandoned.
    expect((await runtime.exec(a.id, 'client', ['pgrep', '-f', 'sleep 23'])).exitCode).toBe(1);
    const quick = await runtime.exec(a.id, 'client', ['sh', '-c', 'echo fast; exit 124'], { timeout: 5 });
    expect(quick).toMatchObject({ exitCode: 124, stdout: 'fast\n', timedOut: false });
  });

  it('creates the declared user with the generated password', async () => {
    const id = await runtime.exec(a.id, 'server', ['id', '-un', 'student']);
    expect(id.stdout.trim()).toBe('student');
    // The hash in /etc/shadow is of the generated password: recompute it with its own salt.
    const check = await runtime.exec(a.id, 'server', [
      'sh',
      '-c',
      'h=$(getent shadow student | cut -d: -f2); [ -n "$h" ] && [ "$(perl -e "print crypt(q(secret-pw-1), q($h))")" = "$h" ]',
    ]);
    expect(check.exitCode).toBe(0);
  });

  it('a system of one instance cannot reach a system of another', async () => {
    const other = (await runtime.exec(b.id, 'server', ['hostname', '-i'])).stdout.trim();
    const own = (await runtime.exec(a.id, 'server', ['hostname', '-i'])).stdout.trim();
    expect(other).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(other).not.toBe(own);
    // Reachable from its own instance, so the address itself is fine...
    expect((await runtime.exec(b.id, 'client', ['ping', '-c1', '-W2', other])).exitCode).toBe(0);
    // ...but not from the other one.
    expect((await runtime.exec(a.id, 'client', ['ping', '-c1', '-W2', other])).exitCode).not.toBe(0);
  });

  it('instances with a way out (internet: true) still cannot reach each other', async () => {
    const open = {
      name: 'open',
      title: 'With internet',
      network: { internet: true },
      systems: [{ name: 'node', kind: 'container' as const, image: 'lab-orchestrator/shell' }],
    };
    const [c, d] = [instanceOf(newInstanceId('oc'), open), instanceOf(newInstanceId('od'), open)];
    try {
      await Promise.all([runtime.provision(c), runtime.provision(d)]);
      // A default route exists, so only the isolation between networks stops the packets.
      expect((await runtime.exec(c.id, 'node', ['ip', 'route'])).stdout).toMatch(/^default via /m);
      const gateway = await runtime.exec(c.id, 'node', [
        'sh',
        '-c',
        'ping -c1 -W2 "$(ip route | awk \'/default/{print $3}\')"',
      ]);
      expect(gateway.exitCode).toBe(0);
      const other = (await runtime.exec(d.id, 'node', ['hostname', '-i'])).stdout.trim();
      expect((await runtime.exec(c.id, 'node', ['ping', '-c1', '-W2', other])).exitCode).not.toBe(0);
    } finally {
      await Promise.all([runtime.destroy(c.id), runtime.destroy(d.id)]);
    }
    expect(leftovers(c.id)).toBe('');
  });

  it('pause then resume keeps a file written before', async () => {
    await runtime.exec(a.id, 'client', ['sh', '-c', 'echo kept > /root/note']);
    await runtime.pause(a.id);
    expect((await runtime.status(a.id)).systems.map((s) => s.phase)).toEqual(['paused', 'paused']);
    await expect(runtime.exec(a.id, 'client', ['true'])).rejects.toThrow(/paused/);
    await runtime.pause(a.id);
    await runtime.resume(a.id);
    await runtime.resume(a.id);
    expect((await runtime.status(a.id)).systems.map((s) => s.phase)).toEqual(['ready', 'ready']);
    expect((await runtime.exec(a.id, 'client', ['cat', '/root/note'])).stdout).toBe('kept\n');
  });

  it('reset of one system removes what was written there, and only there', async () => {
    await runtime.exec(a.id, 'server', ['sh', '-c', 'echo stays > /root/other']);
    await runtime.reset(a, 'client');
    expect((await runtime.exec(a.id, 'client', ['test', '-e', '/root/note'])).exitCode).toBe(1);
    expect((await runtime.exec(a.id, 'server', ['cat', '/root/other'])).stdout).toBe('stays\n');
    expect((await runtime.exec(a.id, 'client', ['ping', '-c1', '-W2', 'server'])).exitCode).toBe(0);
    await runtime.reset(a);
    expect((await runtime.exec(a.id, 'server', ['test', '-e', '/root/other'])).exitCode).toBe(1);
    expect((await runtime.exec(a.id, 'server', ['id', '-un', 'student'])).stdout.trim()).toBe('student');
  });

  it('terminal: a login shell as the lab user that runs what is typed, and resizes', async () => {
    const terminal = await runtime.terminal(a.id, 'server', { cols: 100, rows: 30 });
    const marker = `hi-${randomBytes(4).toString('hex')}`;
    try {
      terminal.write(`echo ${marker}\n`);
      // The command's own output line, not the echo of what was typed.
      await readUntil(terminal, (text) => new RegExp(`[\\r\\n]${marker}\\r?\\n`).test(text.toString('utf8')));
      await terminal.resize({ cols: 132, rows: 43 });
      terminal.write('stty size; whoami\n');
      await readUntil(terminal, (text) => /[\r\n]43 132\r?\nstudent\r?\n/.test(text.toString('utf8')));
    } finally {
      terminal.destroy();
    }
  });

  it('desktop: the stream speaks RFB with the VNC server inside the system', async () => {
    await runtime.provision(desk);
    const desktop = await runtime.desktop(desk.id, 'desk');
    try {
      const hello = await readUntil(desktop, (received) => received.length >= 12, 30_000);
      expect(hello.subarray(0, 12).toString('latin1')).toBe('RFB 003.008\n');
      // Our version back; the server then lists its security types: 1 = None.
      desktop.write('RFB 003.008\n');
      const types = await readUntil(desktop, (received) => received.length >= 2, 10_000);
      expect([...types.subarray(1, 1 + (types[0] ?? 0))]).toContain(1);
    } finally {
      desktop.destroy();
    }
    // The desktop has its window manager and terminal running on the X display.
    for (const program of ['Xvnc', 'twm', 'xterm']) {
      expect((await runtime.exec(desk.id, 'desk', ['pgrep', '-x', program])).exitCode, program).toBe(0);
    }
    await expect(runtime.desktop(a.id, 'client')).rejects.toThrow(/no desktop console/);
  });

  it('a lab naming an image that does not exist fails with a readable reason and leaves nothing', async () => {
    const spec = instanceOf(newInstanceId('nope'), {
      name: 'broken',
      title: 'Broken',
      systems: [
        { name: 'fine', kind: 'container', image: 'lab-orchestrator/shell' },
        { name: 'ghost', kind: 'container', image: 'lab-orchestrator/nope' },
      ],
    });
    const failure = await runtime.provision(spec).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(RuntimeError);
    expect((failure as Error).message).toBe('image lab-orchestrator/nope does not exist on this machine');
    const status = await runtime.status(spec.id);
    expect(status.exists).toBe(false);
    expect(status.systems.find((s) => s.name === 'ghost')).toMatchObject({
      phase: 'failed',
      reason: 'image lab-orchestrator/nope does not exist on this machine',
    });
    expect(leftovers(spec.id)).toBe('');
    expect(await runtime.list()).not.toContain(spec.id);
  });

  it('a system whose command exits at once fails with its output, and leaves nothing', async () => {
    const spec = instanceOf(newInstanceId('exit'), {
      name: 'crashing',
      title: 'Crashing',
      systems: [
        { name: 'fine', kind: 'container', image: 'lab-orchestrator/shell' },
        {
          name: 'crash',
          kind: 'container',
          image: 'lab-orchestrator/shell',
          command: ['sh', '-c', 'echo no such service >&2; exit 7'],
        },
      ],
    });
    await expect(runtime.provision(spec)).rejects.toThrow(/system crash stopped .*exit code 7.*no such service/);
    expect(leftovers(spec.id)).toBe('');
  });

  it('a lab with a VM fails clearly when no VM driver runs, and leaves nothing', async () => {
    const spec = instanceOf(newInstanceId('vm'), {
      name: 'with-vm',
      title: 'With a VM',
      systems: [
        { name: 'web', kind: 'container', image: 'lab-orchestrator/shell' },
        { name: 'box', kind: 'vm', image: 'lab/debian-vm' },
      ],
    });
    await expect(runtime.provision(spec)).rejects.toThrow(/system box is a VM, but this server runs no VM driver/);
    expect(leftovers(spec.id)).toBe('');
  });

  it('destroy leaves nothing, and destroying again is fine', async () => {
    for (const spec of [a, b, desk]) {
      await runtime.destroy(spec.id);
      expect(leftovers(spec.id)).toBe('');
      await runtime.destroy(spec.id);
      expect(await runtime.status(spec.id)).toEqual({ id: spec.id, exists: false, systems: [] });
    }
    const listed = await runtime.list();
    for (const spec of [a, b, desk]) expect(listed).not.toContain(spec.id);
  });
});
