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

export async function runExec(
  container: Docker.Container,
  argv: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const withStdin = opts.stdin !== undefined;
  const exec = await container.exec({
    Cmd: argv,
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    ...(opts.user ? { User: opts.user } : {}),
  });
  const stream = (await exec.start({ hijack: true, stdin: withStdin })) as Duplex;
  const output = new OutputCollector();
  let timedOut = false;
  await new Promise<void>((resolve, reject) => {
    const timer =
      opts.timeout !== undefined
        ? setTimeout(() => {
            // The Engine API cannot kill an exec: the stream is dropped and the
            // result says so; the process ends when it ends.
            timedOut = true;
            stream.destroy();
            resolve();
          }, opts.timeout * 1000)
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
      if (timedOut) resolve();
      else reject(err);
    });
    if (withStdin) stream.end(opts.stdin);
  });
  return {
    exitCode: timedOut ? TIMEOUT_EXIT_CODE : await exitCodeOf(exec),
    stdout: output.text(STREAM_STDOUT),
    stderr: output.text(STREAM_STDERR),
    timedOut,
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
 * Waits (up to ~10 s, while the desktop starts) for the VNC port, then pipes
 * stdin/stdout to it with nc, or bash's /dev/tcp when the image has no nc.
 */
const VNC_BRIDGE = [
  '/bin/sh',
  '-c',
  `if command -v nc >/dev/null 2>&1; then
     i=0; while [ $i -lt 50 ] && ! nc -z 127.0.0.1 ${VNC_PORT} 2>/dev/null; do i=$((i+1)); sleep 0.2; done
     exec nc 127.0.0.1 ${VNC_PORT}
   fi
   exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/${VNC_PORT} && { cat <&3 & cat >&3; wait; }'`,
];

export async function openDesktop(container: Docker.Container, onStderr?: (text: string) => void): Promise<Duplex> {
  const exec = await container.exec({
    Cmd: VNC_BRIDGE,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const socket = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  return new ExecBridge(socket, onStderr);
}
