/**
 * @file Client of qemu-guest-agent (QGA) over the VM's virtio-serial socket.
 * Both images run the real agent (tiny-vm carries Debian's qemu-ga binary),
 * so exec, readiness and guest power-off have one code path.
 *
 * Every conversation starts with 0xFF (resets the agent's JSON parser) and
 * `guest-sync-delimited`, whose answer is preceded by 0xFF: anything left in
 * the channel from an earlier, abandoned conversation is skipped.
 */
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult } from '../../runtime.js';
import { errorOf, UnixJsonConnection } from './unix-json.js';

export interface GuestExecOptions {
  /** Seconds; the command is killed in the guest after it and the result has `timedOut`. */
  timeout: number;
  stdin?: string;
}

export class GuestAgent {
  constructor(private readonly socketPath: string) {}

  /** True when the agent answers within `timeoutMs`. */
  async ping(timeoutMs = 1500): Promise<boolean> {
    try {
      await this.session(timeoutMs, async () => {});
      return true;
    } catch {
      return false;
    }
  }

  async exec(argv: string[], opts: GuestExecOptions): Promise<ExecResult> {
    const [path, ...args] = argv;
    if (!path) throw new Error('exec needs a command');
    return this.session(3000, async (call) => {
      const started = (await call('guest-exec', {
        path,
        arg: args,
        'capture-output': true,
        ...(opts.stdin !== undefined ? { 'input-data': Buffer.from(opts.stdin).toString('base64') } : {}),
      })) as { pid: number };
      const deadline = Date.now() + opts.timeout * 1000;
      let pause = 20;
      for (;;) {
        const status = (await call('guest-exec-status', { pid: started.pid })) as ExecStatus;
        if (status.exited) {
          return {
            exitCode: status.exitcode ?? (status.signal !== undefined ? 128 + status.signal : -1),
            stdout: decode(status['out-data']),
            stderr: decode(status['err-data']),
            timedOut: false,
          };
        }
        if (Date.now() > deadline) {
          await call('guest-exec', { path: 'kill', arg: ['-KILL', String(started.pid)] }).catch(() => {});
          return {
            exitCode: 137,
            stdout: decode(status['out-data']),
            stderr: decode(status['err-data']),
            timedOut: true,
          };
        }
        await sleep(pause);
        pause = Math.min(pause * 2, 200);
      }
    });
  }

  /** Asks the guest to power off (`guest-shutdown`, which has no answer on success). */
  async shutdown(): Promise<void> {
    await this.session(1500, async (_call, conn) => {
      conn.write(`${JSON.stringify({ execute: 'guest-shutdown', arguments: { mode: 'powerdown' } })}\n`);
    });
  }

  private async session<T>(
    timeoutMs: number,
    body: (
      call: (command: string, args?: Record<string, unknown>) => Promise<unknown>,
      conn: UnixJsonConnection,
    ) => Promise<T>,
  ): Promise<T> {
    const conn = await UnixJsonConnection.open(this.socketPath, timeoutMs);
    try {
      const id = randomInt(1, 2 ** 31);
      conn.write(Buffer.from([0xff]));
      conn.write(`${JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } })}\n`);
      await conn.skipPast(0xff, timeoutMs);
      await conn.read((m) => m.return === id, timeoutMs);
      const call = async (command: string, args?: Record<string, unknown>) => {
        conn.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
        const message = await conn.read((m) => 'return' in m || 'error' in m, 10_000);
        const error = errorOf(message);
        if (error) throw new Error(`guest agent: ${command}: ${error}`);
        return message.return;
      };
      return await body(call, conn);
    } finally {
      conn.close();
    }
  }
}

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
}

const decode = (data: string | undefined) => (data ? Buffer.from(data, 'base64').toString('utf8') : '');
