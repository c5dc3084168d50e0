/**
 * @file A small but real Runtime for tests and benches where the runtime is
 * not the point (the gateway, the UI's refusals): every system is this
 * host's `sh` on a real PTY (util-linux `script`), the desktop is a real TCP
 * connection to a loopback port the test runs, and `forward` connects to
 * loopback ports (for the HTTP proxy). Nothing here is a mock: a closed
 * shell, a dead port or a wrong size shows through.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import {
  type ExecOptions,
  type ExecResult,
  type InstanceId,
  type InstanceSpec,
  type InstanceStatus,
  type Runtime,
  RuntimeError,
  type TerminalSize,
  type TerminalStream,
} from '../../server/runtime/runtime.js';

const run = promisify(execFile);

/** A shell on a PTY, as a Duplex: bytes in = keystrokes, bytes out = what the terminal shows. */
class ShellTerminal extends Duplex implements TerminalStream {
  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    super();
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.on('exit', () => this.push(null));
    child.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.child.stdin.write(chunk, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.child.kill('SIGKILL');
    cb(err);
  }

  /** Sets the size on the PTY's slave side (the shell's tty), which signals SIGWINCH. */
  async resize(size: TerminalSize): Promise<void> {
    const pid = this.child.pid;
    for (let i = 0; i < 50; i++) {
      const children = await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
      const shell = children.trim().split(/\s+/)[0];
      const tty = shell ? await fs.readlink(`/proc/${shell}/fd/0`).catch(() => '') : '';
      if (tty.startsWith('/dev/pts/')) {
        await run('stty', ['-F', tty, 'cols', String(size.cols), 'rows', String(size.rows)]);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new RuntimeError('the shell has no terminal to resize', 'failed');
  }
}

export interface ShellRuntimeOptions {
  /** Loopback port the desktop console connects to (an RFB server, or any byte source). */
  desktopPort?: number;
}

export class ShellRuntime implements Runtime {
  readonly name = 'shell';
  private readonly instances = new Map<InstanceId, { spec: InstanceSpec; paused: boolean }>();
  /** Terminals opened so far (tests check that a refused socket opened none). */
  terminalsOpened = 0;

  constructor(private readonly opts: ShellRuntimeOptions = {}) {}

  async provision(spec: InstanceSpec): Promise<void> {
    if (!this.instances.has(spec.id)) this.instances.set(spec.id, { spec, paused: false });
  }

  async status(id: InstanceId): Promise<InstanceStatus> {
    const found = this.instances.get(id);
    return {
      id,
      exists: found !== undefined,
      systems: (found?.spec.systems ?? []).map((s) => ({
        name: s.definition.name,
        kind: s.definition.kind,
        phase: found?.paused ? 'paused' : 'ready',
        consoles: s.definition.consoles,
      })),
    };
  }

  async list(): Promise<InstanceId[]> {
    return [...this.instances.keys()];
  }

  async pause(id: InstanceId): Promise<void> {
    this.need(id).paused = true;
  }

  async resume(id: InstanceId): Promise<void> {
    this.need(id).paused = false;
  }

  async destroy(id: InstanceId): Promise<void> {
    this.instances.delete(id);
  }

  async reset(spec: InstanceSpec): Promise<void> {
    this.instances.set(spec.id, { spec, paused: false });
  }

  async terminal(id: InstanceId, system: string, size: TerminalSize): Promise<TerminalStream> {
    this.system(id, system);
    const child = spawn('script', ['-qfec', 'sh -i', '/dev/null'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', PS1: '$ ', HOME: '/tmp' },
    });
    this.terminalsOpened++;
    const terminal = new ShellTerminal(child);
    await terminal.resize(size).catch(() => {});
    return terminal;
  }

  async desktop(id: InstanceId, system: string): Promise<Duplex> {
    const def = this.system(id, system);
    if (!def.consoles.includes('desktop'))
      throw new RuntimeError(`system ${system} has no desktop console`, 'bad-spec');
    if (!this.opts.desktopPort) throw new RuntimeError('no desktop server in this test', 'unavailable');
    return connect(this.opts.desktopPort);
  }

  /** The HTTP proxy's way in (server/gateway/http-proxy.ts PortForwarding): a loopback port. */
  async forward(id: InstanceId, system: string, port: number): Promise<Duplex> {
    this.system(id, system);
    return connect(port);
  }

  async exec(id: InstanceId, system: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.system(id, system);
    try {
      const { stdout, stderr } = await run(argv[0]!, argv.slice(1), { timeout: (opts.timeout ?? 10) * 1000 });
      return { exitCode: 0, stdout, stderr, timedOut: false };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string; killed?: boolean };
      return {
        exitCode: typeof e.code === 'number' ? e.code : 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
        timedOut: e.killed === true,
      };
    }
  }

  async close(): Promise<void> {}

  private need(id: InstanceId) {
    const found = this.instances.get(id);
    if (!found) throw new RuntimeError(`no instance ${id}`, 'not-found');
    return found;
  }

  private system(id: InstanceId, system: string) {
    const found = this.need(id);
    if (found.paused) throw new RuntimeError(`system ${system} is paused: resume the lab first`, 'unavailable');
    const def = found.spec.systems.find((s) => s.definition.name === system)?.definition;
    if (!def) throw new RuntimeError(`no system ${system} in instance ${id}`, 'not-found');
    return def;
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}
