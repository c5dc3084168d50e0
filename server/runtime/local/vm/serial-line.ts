/**
 * @file A VM's serial console as the server holds it: one connection to
 * QEMU's serial socket per VM, made as QEMU starts and kept while it runs,
 * that reads everything the guest prints, keeps the last few KiB (what a
 * new terminal shows first), and hands each chunk to the terminals open on
 * it (serial-terminal.ts). Their keys all go out on the same connection.
 *
 * Why the socket and not QEMU's serial log: QEMU writes each chunk to the
 * socket's client, then to the log, and when the client is slow to read (a
 * busy server) it logs some bytes twice ("n=31664" for "n=3164", measured
 * with Debian's QEMU 7.2), while the socket carries each byte once. Why
 * held for the VM's life: QEMU serves one client at a time and its accept
 * of a new one is an instant the server cannot see, so a connection per
 * terminal would repeat or lose the bytes printed around each opening, and
 * a second terminal would type into nothing until the first left.
 *
 * The log still serves once: a line made for a VM that was already running
 * (the server restarted) starts its history with the log's end, read right
 * after connecting; bytes printed around that instant may show twice or
 * not at all on that first screen.
 */

import { open } from 'node:fs/promises';
import type net from 'node:net';
import { connectConsole } from './console-socket.js';

/** At most this much of the console's history is shown again when a terminal opens: a screen or two. */
export const REPLAY_BYTES = 4096;
const ESC = 0x1b;
const LF = 0x0a;

/**
 * Where showing `tail` (the last bytes of the history) should begin: after
 * its first line break, so neither a line nor an escape sequence is cut;
 * without one, at its first escape sequence, else at its first whole UTF-8
 * character. `whole` says `tail` is the history from its start.
 */
export function replayStart(tail: Buffer, whole: boolean): number {
  if (whole) return 0;
  const lf = tail.indexOf(LF);
  if (lf >= 0) return lf + 1;
  const esc = tail.indexOf(ESC);
  if (esc >= 0) return esc;
  const lead = tail.findIndex((b) => (b & 0xc0) !== 0x80);
  return lead >= 0 ? lead : tail.length;
}

/** What the line tells a terminal open on it. */
export interface SerialListener {
  output(chunk: Buffer): void;
  /** The console is gone (QEMU exited or the server let go). */
  gone(): void;
}

export class SerialLine {
  private history: Buffer;
  /** Whether `history` holds everything since the console started. */
  private whole: boolean;
  private readonly listeners = new Set<SerialListener>();

  constructor(
    private readonly socket: net.Socket,
    seed: Buffer,
    seedIsWhole: boolean,
  ) {
    this.history = seed.subarray(Math.max(0, seed.length - REPLAY_BYTES));
    this.whole = seedIsWhole && seed.length <= REPLAY_BYTES;
    socket.on('data', (chunk: Buffer) => {
      const joined = Buffer.concat([this.history, chunk]);
      this.whole &&= joined.length <= REPLAY_BYTES;
      // Only the end is kept, copied out of a long one so that a big chunk is not held on to.
      this.history =
        joined.length <= REPLAY_BYTES ? joined : Buffer.from(joined.subarray(joined.length - REPLAY_BYTES));
      for (const l of this.listeners) l.output(chunk);
    });
    socket.on('error', () => {}); // followed by 'close'
    socket.once('close', () => {
      for (const l of this.listeners) l.gone();
      this.listeners.clear();
    });
  }

  get open(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  /** The recent screen, from a line start: what a terminal shows before the live output. */
  screen(): Buffer {
    return Buffer.from(this.history.subarray(replayStart(this.history, this.whole)));
  }

  /** Starts telling `l` the output from now on; false (and nothing told) if the console is gone. */
  listen(l: SerialListener): boolean {
    if (!this.open) return false;
    this.listeners.add(l);
    return true;
  }

  unlisten(l: SerialListener): void {
    this.listeners.delete(l);
  }

  /** Keys to the guest; dropped once the console is gone (a terminal that ends is not an error). */
  write(keys: Buffer | string, done: () => void): void {
    if (this.open) this.socket.write(keys, () => done());
    else done();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The lines of one server process, by serial socket path. */
export class SerialLines {
  private readonly lines = new Map<string, Promise<SerialLine>>();

  /**
   * The VM's line, made on first use (the driver makes it as QEMU starts);
   * the log's end, read right after connecting, seeds its history.
   */
  get(socketPath: string, logPath: string): Promise<SerialLine> {
    const held = this.lines.get(socketPath);
    if (!held) return this.connect(socketPath, logPath);
    return held.then(
      (line) => (line.open ? line : this.replace(socketPath, logPath, held)),
      () => this.replace(socketPath, logPath, held),
    );
  }

  /** Lets go of every line (the server stops; QEMU goes on without a client). */
  close(): void {
    for (const line of this.lines.values()) line.then((l) => l.close()).catch(() => undefined);
    this.lines.clear();
  }

  /** A new line in place of a gone one; callers that find it gone together share one. */
  private replace(socketPath: string, logPath: string, gone: Promise<SerialLine>): Promise<SerialLine> {
    const now = this.lines.get(socketPath);
    return now && now !== gone ? this.get(socketPath, logPath) : this.connect(socketPath, logPath);
  }

  private connect(socketPath: string, logPath: string): Promise<SerialLine> {
    const made = (async () => {
      const socket = await connectConsole(socketPath);
      try {
        const seed = await logTail(logPath);
        const line = new SerialLine(socket, seed.bytes, seed.whole);
        socket.once('close', () => {
          if (this.lines.get(socketPath) === made) this.lines.delete(socketPath);
        });
        return line;
      } catch (err) {
        socket.destroy();
        throw err;
      }
    })();
    this.lines.set(socketPath, made);
    made.catch(() => {
      if (this.lines.get(socketPath) === made) this.lines.delete(socketPath);
    });
    return made;
  }
}

/** The last REPLAY_BYTES of the serial log (none yet: empty), and whether that is all of it. */
async function logTail(logPath: string): Promise<{ bytes: Buffer; whole: boolean }> {
  const file = await open(logPath, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!file) return { bytes: Buffer.alloc(0), whole: true };
  try {
    const size = (await file.stat()).size;
    const from = Math.max(0, size - REPLAY_BYTES);
    const bytes = Buffer.alloc(size - from);
    await file.read(bytes, 0, bytes.length, from);
    return { bytes, whole: from === 0 };
  } finally {
    await file.close();
  }
}
