/**
 * @file A VM's terminal: its serial console as a TerminalStream that opens
 * on the current screen (the login or shell prompt the guest printed before
 * anyone looked), then stays live.
 *
 * Why the output comes from the serial log and not from the socket: QEMU
 * writes each chunk the guest sends on the serial line to the socket's
 * client (when one is connected) and then to the log, so the log holds every
 * byte, in order. The socket's copy starts when QEMU's main loop accepts our
 * connection, an instant we cannot see (our connect returns before it; while
 * another client is attached, not until it leaves). Splicing "the log up to
 * now" with "the socket from now" would repeat or lose the bytes the guest
 * wrote around that instant, whichever order the two are taken in. So the
 * terminal reads the log from a line start near its end and follows it as it
 * grows; the socket carries the learner's keys to the guest, and what QEMU
 * sends on it is read and dropped (unread, it would fill and stall the
 * guest's serial output).
 */
import { type FSWatcher, watch } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError, type TerminalSize, type TerminalStream } from '../../runtime.js';
import { connectConsole } from './console-socket.js';

/** At most this much of the log is shown again when a terminal opens: a screen or two. */
export const REPLAY_BYTES = 4096;
const READ_BYTES = 64 * 1024;
const ESC = 0x1b;
const LF = 0x0a;

/**
 * Where showing `tail` (the last bytes of the log) should begin: after its
 * first line break, so neither a line nor an escape sequence is cut; without
 * one, at its first escape sequence, else at its first whole UTF-8 character.
 * `whole` says `tail` is the log from its start.
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

/** The terminal of a running VM: the recent screen from `serialLog`, then live; keys go to `serialSocket`. */
export async function openSerialTerminal(serialSocket: string, serialLog: string): Promise<TerminalStream> {
  const socket = await connectConsole(serialSocket);
  let log: FileHandle | undefined;
  try {
    log = await open(serialLog, 'r');
    const size = (await log.stat()).size;
    const from = Math.max(0, size - REPLAY_BYTES);
    const tail = Buffer.alloc(size - from);
    await log.read(tail, 0, tail.length, from);
    return new SerialTerminal(socket, log, serialLog, from + replayStart(tail, from === 0));
  } catch (err) {
    socket.destroy();
    await log?.close();
    throw new RuntimeError(`cannot read the VM console's log: ${(err as Error).message}`, 'unavailable', {
      cause: err,
    });
  }
}

class SerialTerminal extends Duplex implements TerminalStream {
  private readonly watcher: FSWatcher;
  private readonly buffer = Buffer.allocUnsafe(READ_BYTES);
  private reading = false;
  private ended = false;
  private again = false;
  private wanted = false;
  private socketClosed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly log: FileHandle,
    logPath: string,
    private offset: number,
  ) {
    super();
    // inotify tells when QEMU appends; a chunk on the socket is logged a moment after it is sent.
    this.watcher = watch(logPath, { persistent: false }, () => this.pump());
    this.watcher.on('error', () => {}); // the log went with the VM: the socket's close ends the terminal
    socket.on('data', () => this.pump());
    socket.on('error', () => {}); // followed by 'close'
    socket.on('close', () => {
      this.socketClosed = true;
      this.pump(); // what the guest wrote last, then the end
    });
  }

  /** A serial line carries no window size: the guest keeps 80x24 unless told with stty. */
  async resize(_size: TerminalSize): Promise<void> {}

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    // Keys typed while the terminal ends go nowhere: the end, not an error, is what the learner sees.
    if (this.socketClosed) done();
    else this.socket.write(chunk, done);
  }

  /** The writer is done: so is the console (QEMU then drops the connection, which ends the reading side). */
  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.watcher.close();
    this.socket.destroy();
    this.log.close().then(
      () => done(err),
      () => done(err),
    );
  }

  /** Pushes what the log has beyond `offset` while the reader wants more; one read at a time. */
  private pump(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.drain().then(
      () => {
        this.reading = false;
      },
      (err: Error) => {
        this.reading = false;
        this.destroy(err);
      },
    );
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      // Closed socket: read what is left after QEMU's last write, then end.
      const last = this.socketClosed;
      while (this.wanted && !this.ended && !this.destroyed) {
        const { bytesRead } = await this.log.read(this.buffer, 0, READ_BYTES, this.offset);
        if (this.destroyed) return;
        if (bytesRead === 0) {
          if (last) {
            this.ended = true;
            this.push(null);
          }
          break;
        }
        this.offset += bytesRead;
        // A copy: the read buffer is reused, and a chunk of a few bytes should not hold 64 KiB.
        this.wanted = this.push(Buffer.from(this.buffer.subarray(0, bytesRead)));
      }
    } while (this.again && !this.ended && !this.destroyed);
  }
}

/**
 * Presses Enter on a VM's console, once, and waits (up to `ms`) for the
 * guest to answer in its log. A VM restored from a saved state has a new,
 * empty log, and the prompt in its memory was printed by the template under
 * the template's host name: this makes its shell or getty print a prompt of
 * its own. Best effort: false when nothing answered.
 */
export async function promptAgain(serialSocket: string, serialLog: string, ms: number): Promise<boolean> {
  const sizeOf = async () => (await stat(serialLog)).size;
  let socket: net.Socket | undefined;
  try {
    const before = await sizeOf();
    socket = await connectConsole(serialSocket);
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.write('\r');
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      // Stay connected until the guest answered: QEMU drops what it had not read when the client leaves.
      if ((await sizeOf()) > before) return true;
      await sleep(50);
    }
    return false;
  } catch {
    return false;
  } finally {
    socket?.destroy();
  }
}
