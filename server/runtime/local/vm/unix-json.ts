/**
 * @file A JSON-lines conversation over a unix socket: what QMP and the QEMU
 * guest agent both speak. One connection per conversation; QEMU's socket
 * chardevs serve one client at a time, so callers serialise per VM.
 */
import net from 'node:net';

export class UnixJsonConnection {
  private buffer = Buffer.alloc(0);
  private waiter?: () => void;
  private closed?: Error;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    const onEnd = (err?: Error) => {
      this.closed = err ?? new Error('connection closed');
      this.waiter?.();
    };
    socket.on('error', onEnd);
    socket.on('close', () => onEnd());
  }

  static open(path: string, timeoutMs: number): Promise<UnixJsonConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new UnixJsonConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Drops everything received up to and including the first `byte` (QGA's 0xFF delimiter). */
  async skipPast(byte: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.buffer.indexOf(byte);
      if (at >= 0) {
        this.buffer = this.buffer.subarray(at + 1);
        return;
      }
      this.buffer = Buffer.alloc(0);
      await this.wait(deadline);
    }
  }

  /** The next JSON object whose line satisfies `accept`; other lines are skipped. */
  async read(
    accept: (message: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let newline = this.buffer.indexOf(0x0a);
      while (newline >= 0) {
        const line = this.buffer.subarray(0, newline).toString('utf8').trim();
        this.buffer = this.buffer.subarray(newline + 1);
        const message = parse(line);
        if (message && accept(message)) return message;
        newline = this.buffer.indexOf(0x0a);
      }
      await this.wait(deadline);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wait(deadline: number): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    const left = deadline - Date.now();
    if (left <= 0) return Promise.reject(new Error('timed out waiting for an answer'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error('timed out waiting for an answer'));
      }, left);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (this.closed && this.buffer.indexOf(0x0a) < 0) reject(this.closed);
        else resolve();
      };
    });
  }
}

function parse(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An `{"error": {...}}` answer as a message. */
export function errorOf(message: Record<string, unknown>): string | undefined {
  const error = message.error as { desc?: unknown; class?: unknown } | undefined;
  if (!error) return undefined;
  return typeof error.desc === 'string' ? error.desc : String(error.class ?? 'error');
}
