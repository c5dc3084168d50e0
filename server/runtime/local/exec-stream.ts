/**
 * @file The Docker Engine API's multiplexed stream of a non-TTY exec (or
 * attach): frames of an 8-byte header (stream 1 = stdout, 2 = stderr, then the
 * payload length, big-endian) followed by the payload. Kept in one place, with
 * the two consumers: collecting output of a command, and a byte bridge
 * (desktop) that must pass stdout through untouched.
 */
import { Duplex } from 'node:stream';

export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
const HEADER = 8;

/** Feeds chunks in any split; calls `onFrame` for each complete payload. */
export class Demultiplexer {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= HEADER) {
      const size = this.buffer.readUInt32BE(4);
      if (this.buffer.length < HEADER + size) break;
      const stream = this.buffer[0] ?? 0;
      const payload = this.buffer.subarray(HEADER, HEADER + size);
      this.buffer = this.buffer.subarray(HEADER + size);
      this.onFrame(stream, payload);
    }
  }
}

/** Collects stdout and stderr of a command, each up to `limit` bytes (the rest is dropped). */
export class OutputCollector {
  private readonly parts: Record<number, Buffer[]> = { [STREAM_STDOUT]: [], [STREAM_STDERR]: [] };
  private readonly sizes: Record<number, number> = { [STREAM_STDOUT]: 0, [STREAM_STDERR]: 0 };
  readonly demux = new Demultiplexer((stream, payload) => {
    const room = this.limit - (this.sizes[stream] ?? this.limit);
    if (room <= 0) return;
    const kept = payload.length > room ? payload.subarray(0, room) : payload;
    this.parts[stream]?.push(Buffer.from(kept));
    this.sizes[stream] = (this.sizes[stream] ?? 0) + kept.length;
  });

  constructor(private readonly limit = 1 << 20) {}

  text(stream: number): string {
    return Buffer.concat(this.parts[stream] ?? []).toString('utf8');
  }
}

/**
 * A Duplex over a hijacked exec connection: what is written goes to the
 * command's stdin as is; what is read is the command's stdout, unframed.
 * stderr goes to `onStderr` (for a log), never into the byte stream.
 */
export class ExecBridge extends Duplex {
  private readonly demux: Demultiplexer;

  constructor(
    private readonly socket: Duplex,
    onStderr: (text: string) => void = () => {},
  ) {
    super();
    this.demux = new Demultiplexer((stream, payload) => {
      if (stream === STREAM_STDERR) onStderr(payload.toString('utf8'));
      else if (!this.push(payload)) this.socket.pause();
    });
    socket.on('data', (chunk: Buffer) => this.demux.push(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => {
      if (!this.destroyed) this.push(null);
    });
    socket.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
