/**
 * @file Commands and consoles of a container system, through the Engine API's
 * exec only (no host networking, no engine-specific endpoint): a command with
 * its output, a TTY login shell for the terminal, and a byte bridge to the
 * VNC port for the desktop (the host usually cannot route to an internal
 * network, but an exec inside the container can reach its own localhost).
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { ExecOptions, ExecResult, TerminalSize, TerminalStream } from '../runtime.js';
import { statusCode } from './engine-errors.js';
import { ExecBridge, OutputCollector, STREAM_STDERR, STREAM_STDOUT } from './exec-stream.js';

/** Exit code reported when the command ran out of time, like timeout(1). */
export const TIMEOUT_EXIT_CODE = 124;

async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  // The engine may report the exit code a moment after the stream ends.
  for (let attempt = 0; attempt < 50; attempt++) {
    const info = await exec.inspect();
    if (!info.Running && typeof info.ExitCode === 'number') return info.ExitCode;
    await new Promise((r) => setTimeout(r, 20));
  }
  return -1;
}

/**
 * The Engine API cannot kill an exec. So a command with a timeout runs under
 * timeout(1) inside the system when the image has it (sh's `$0` carries the
 * seconds): the command is killed there, not just abandoned.
 */
function underTimeout(argv: string[], seconds: number): string[] {
  const script = 'if command -v timeout >/dev/null 2>&1; then exec timeout -k 2 "$0" "$@"; fi; exec "$@"';
  return ['/bin/sh', '-c', script, String(seconds), ...argv];
}

/** How much later than the command's own timeout the stream is dropped, when nothing in the system killed it. */
const TIMEOUT_GRACE_MS = 4000;

export async function runExec(
  container: Docker.Container,
  argv: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  if (opts.timeout === undefined) return runOnce(container, argv, opts);
  try {
    return await runOnce(container, underTimeout(argv, opts.timeout), opts);
  } catch {
    // An image without /bin/sh: run the command as is; the timeout then only drops the stream.
    return runOnce(container, argv, opts);
  }
}

async function runOnce(container: Docker.Container, argv: string[], opts: ExecOptions): Promise<ExecResult> {
  const withStdin = opts.stdin !== undefined;
  const exec = await container.exec({
    Cmd: argv,
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    ...(opts.user ? { User: opts.user } : {}),
  });
  const started = Date.now();
  const stream = (await exec.start({ hijack: true, stdin: withStdin })) as Duplex;
  const output = new OutputCollector();
  let abandoned = false;
  await new Promise<void>((resolve, reject) => {
    const timer =
      opts.timeout !== undefined
        ? setTimeout(
            () => {
              abandoned = true;
              stream.destroy();
              resolve();
            },
            opts.timeout * 1000 + TIMEOUT_GRACE_MS,
          )
        : undefined;
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.on('data', (chunk: Buffer) => output.demux.push(chunk));
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', (err) => {
      clearTimeout(timer);
      if (abandoned) resolve();
      else reject(err);
    });
    if (withStdin) stream.end(opts.stdin);
  });
  const exitCode = abandoned ? TIMEOUT_EXIT_CODE : await exitCodeOf(exec);
  // timeout(1) exits 124 (or 137 after its KILL) when the time ran out.
  const ranOut =
    opts.timeout !== undefined &&
    (exitCode === TIMEOUT_EXIT_CODE || exitCode === 137) &&
    Date.now() - started >= opts.timeout * 1000 - 100;
  return {
    exitCode,
    stdout: output.text(STREAM_STDOUT),
    stderr: output.text(STREAM_STDERR),
    timedOut: abandoned || ranOut,
  };
}

/** A login shell: bash when the image has it, sh otherwise, in the user's home. */
const LOGIN_SHELL = [
  '/bin/sh',
  '-c',
  'HOME="$(getent passwd "$(id -un)" 2>/dev/null | cut -d: -f6)"; [ -n "$HOME" ] || HOME=/; export HOME; cd "$HOME"; ' +
    'if [ -x /bin/bash ]; then exec /bin/bash -l; else exec /bin/sh -l; fi',
];

export async function openTerminal(
  container: Docker.Container,
  size: TerminalSize,
  user: string | undefined,
): Promise<TerminalStream> {
  const exec = await container.exec({
    Cmd: LOGIN_SHELL,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
    Env: ['TERM=xterm-256color'],
    ...(user ? { User: user } : {}),
  });
  const socket = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
  const resize = async ({ cols, rows }: TerminalSize) => {
    try {
      await exec.resize({ h: rows, w: cols });
    } catch (err) {
      // Podman answers 201 where Docker answers 200; dockerode only expects 200.
      if (statusCode(err) !== 201) throw err;
    }
  };
  const terminal = Object.assign(socket, { resize }) as TerminalStream;
  // The shell may not be running yet at the first resize: try again shortly.
  await resize(size).catch(() => new Promise((r) => setTimeout(r, 100)).then(() => resize(size).catch(() => {})));
  return terminal;
}

/** Port of the VNC server inside a desktop system. */
export const VNC_PORT = 5900;

/**
 * Pipes stdin/stdout to a TCP port with nc, or bash's /dev/tcp when the
 * image has no nc; only through the engine's exec, so the host needs no route
 * to the instance network. With `wait`, first waits (up to ~10 s) for the port
 * to open, e.g. while a desktop starts; the probe takes one connection, so a
 * web app (which may serve one connection at a time) is reached without it.
 */
const portBridge = (port: number, wait: boolean) => [
  '/bin/sh',
  '-c',
  `if command -v nc >/dev/null 2>&1; then
     ${wait ? `i=0; while [ $i -lt 50 ] && ! nc -z 127.0.0.1 ${port} 2>/dev/null; do i=$((i+1)); sleep 0.2; done` : ':'}
     exec nc 127.0.0.1 ${port}
   fi
   exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && { cat <&3 & cat >&3; wait; }'`,
];

/** A byte stream to a TCP port inside a container (the desktop's VNC, a lab's web app). */
export async function openPort(
  container: Docker.Container,
  port: number,
  opts: { waitForPort?: boolean; onStderr?: (text: string) => void } = {},
): Promise<Duplex> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`not a TCP port: ${port}`);
  const exec = await container.exec({
    Cmd: portBridge(port, opts.waitForPort === true),
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const socket = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  return new ExecBridge(socket, opts.onStderr);
}

export const openDesktop = (container: Docker.Container, onStderr?: (text: string) => void) =>
  openPort(container, VNC_PORT, { waitForPort: true, ...(onStderr ? { onStderr } : {}) });
