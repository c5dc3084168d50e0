/**
 * @file Exec, terminal and desktop of container systems through the API
 * server: `pods/exec` (client-node speaks `v5.channel.k8s.io`: one channel
 * byte per frame for stdin, stdout, stderr, the final status and terminal
 * resizes) and `pods/portforward` to the VNC port of a desktop.
 */
import { Duplex, PassThrough, Readable, Writable } from 'node:stream';
import { Exec, type KubeConfig, PortForward, type V1Status } from '@kubernetes/client-node';
// Not re-exported by the package's index; the factory argument is what lets us keep refusal reasons.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import WebSocket from 'ws';
import type { ExecOptions, ExecResult, TerminalSize, TerminalStream } from '../runtime.js';
import { RuntimeError } from '../runtime.js';
import { apiMessage } from './api-errors.js';
import { CONTAINER_VNC_PORT, SYSTEM_CONTAINER } from './container-system.js';

/** A login shell: bash where the image has it. */
const SHELL = ['/bin/sh', '-c', 'if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi'];

/**
 * client-node's socket handler, made to keep the API server's reason when it
 * refuses the upgrade (a pod not scheduled, a container not running) instead
 * of a bare "Unexpected server response: 400".
 */
function handler(kc: KubeConfig): WebSocketHandler {
  return new WebSocketHandler(kc, (uri: string, protocols: string[], opts: WebSocket.ClientOptions) => {
    const socket = new WebSocket(uri, protocols, opts);
    socket.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        let message = `HTTP ${res.statusCode}`;
        try {
          const parsed = JSON.parse(body) as { message?: unknown };
          if (typeof parsed.message === 'string') message = parsed.message;
        } catch {
          if (body.trim()) message = body.trim();
        }
        req.destroy();
        socket.emit('error', new Error(message));
      });
    });
    return socket;
  });
}

/** Exit code from the final status frame: Success, or NonZeroExitCode with the code as a cause. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : 1;
}

/** argv run as another user, through su (exec has no user field). */
export function asUser(argv: string[], user?: string): string[] {
  if (!user) return argv;
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return ['su', '-s', '/bin/sh', user, '-c', quoted];
}

export async function execInPod(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  argv: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _e, cb) {
        into.push(chunk);
        cb();
      },
    });
  const stdin = opts.stdin === undefined ? null : Readable.from([Buffer.from(opts.stdin)]);
  let status: V1Status | undefined;
  let socket: Awaited<ReturnType<Exec['exec']>>;
  try {
    socket = await new Exec(kc, handler(kc)).exec(
      namespace,
      pod,
      SYSTEM_CONTAINER,
      asUser(argv, opts.user),
      sink(out),
      sink(err),
      stdin,
      false,
      (s) => {
        status = s;
      },
    );
  } catch (e) {
    throw new RuntimeError(`exec in ${pod}: ${apiMessage(e)}`, 'unavailable', { cause: e });
  }
  const timedOut = await new Promise<boolean>((resolve) => {
    const expire = () => {
      socket.close();
      resolve(true);
    };
    const timer = opts.timeout ? setTimeout(expire, opts.timeout * 1000) : undefined;
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  return {
    exitCode: timedOut ? -1 : status ? exitCodeOf(status) : -1,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
    timedOut,
  };
}

/** stdout that client-node treats as a terminal: it sends our size on the resize channel. */
class TerminalOutput extends Writable {
  constructor(
    public columns: number,
    public rows: number,
    private readonly onData: (chunk: Buffer) => void,
  ) {
    super();
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void) {
    this.onData(chunk);
    cb();
  }
}

export async function terminalInPod(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  size: TerminalSize,
): Promise<TerminalStream> {
  const input = new PassThrough();
  let stream: Duplex | undefined;
  const output = new TerminalOutput(size.cols, size.rows, (chunk) => stream?.push(chunk));
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      input.write(chunk, cb);
    },
    final(cb) {
      input.end();
      cb();
    },
  });
  stream = duplex;
  let socket: Awaited<ReturnType<Exec['exec']>>;
  try {
    socket = await new Exec(kc, handler(kc)).exec(namespace, pod, SYSTEM_CONTAINER, SHELL, output, null, input, true);
  } catch (e) {
    throw new RuntimeError(`terminal of ${pod}: ${apiMessage(e)}`, 'unavailable', { cause: e });
  }
  socket.on('close', () => duplex.push(null));
  const terminal = duplex as TerminalStream;
  terminal.resize = async ({ cols, rows }) => {
    output.columns = cols;
    output.rows = rows;
    output.emit('resize');
  };
  duplex.on('close', () => socket.close());
  return terminal;
}

/** Raw RFB bytes of the VNC server in a container system with a desktop. */
export async function desktopOfPod(kc: KubeConfig, namespace: string, pod: string): Promise<Duplex> {
  const input = new PassThrough();
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      input.write(chunk, cb);
    },
    final(cb) {
      input.end();
      cb();
    },
  });
  const output = new Writable({
    write(chunk: Buffer, _e, cb) {
      duplex.push(chunk);
      cb();
    },
  });
  try {
    const socket = await new PortForward(kc, true, handler(kc)).portForward(
      namespace,
      pod,
      [CONTAINER_VNC_PORT],
      output,
      null,
      input,
    );
    if (typeof socket !== 'function') {
      socket.on('close', () => duplex.push(null));
      duplex.on('close', () => socket.close());
    }
  } catch (e) {
    throw new RuntimeError(`desktop of ${pod}: ${apiMessage(e)}`, 'unavailable', { cause: e });
  }
  return duplex;
}
