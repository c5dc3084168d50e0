/**
 * @file A VM's terminal: a TerminalStream on the VM's serial line
 * (serial-line.ts) that opens on the current screen (the login or shell
 * prompt the guest printed before anyone looked), then stays live. Closing
 * it lets go of the line, never closes it: other terminals and the next one
 * go on with it.
 */
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError, type TerminalSize, type TerminalStream } from '../../runtime.js';
import type { SerialLine, SerialListener } from './serial-line.js';

/**
 * How far a terminal's reader may fall behind the console (a browser that
 * stopped reading while the guest floods it) before the terminal ends; the
 * client reconnects and starts again from the current screen.
 */
export const MAX_BEHIND_BYTES = 4 * 1024 * 1024;

/** The terminal of a running VM on its line: the recent screen, then live; keys go to the guest. */
export function openSerialTerminal(line: SerialLine): TerminalStream {
  const terminal = new SerialTerminal(line);
  if (!line.listen(terminal)) terminal.gone();
  return terminal;
}

class SerialTerminal extends Duplex implements TerminalStream, SerialListener {
  private ended = false;

  constructor(private readonly line: SerialLine) {
    super();
    const screen = line.screen();
    if (screen.length > 0) this.push(screen);
  }

  output(chunk: Buffer): void {
    if (this.ended || this.destroyed) return;
    if (this.readableLength > MAX_BEHIND_BYTES) {
      this.destroy(new RuntimeError('the terminal fell too far behind the console; open it again', 'unavailable'));
      return;
    }
    this.push(chunk);
  }

  gone(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.push(null);
  }

  /** A serial line carries no window size: the guest keeps 80x24 unless told with stty. */
  async resize(_size: TerminalSize): Promise<void> {}

  /** The line pushes as the guest prints; a reader that pauses gets it buffered (up to MAX_BEHIND_BYTES). */
  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    // Keys typed while the terminal ends go nowhere: the end, not an error, is what the learner sees.
    if (this.ended) done();
    else this.line.write(chunk, done);
  }

  /** The writer is done: so is this terminal (the line stays for the others and the next). */
  override _final(done: (err?: Error | null) => void): void {
    this.line.unlisten(this);
    this.gone();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.line.unlisten(this);
    done(err);
  }
}

/**
 * Presses Enter on a VM's console, once, and waits (up to `ms`) for the
 * guest to answer on it. The prompt in a restored VM's memory was printed
 * by the template under the template's host name: this makes its shell or
 * getty print a prompt of its own. Best effort: false when nothing answered.
 */
export async function promptAgain(line: () => Promise<SerialLine>, ms: number): Promise<boolean> {
  let answered = false;
  const listener: SerialListener = {
    output: () => {
      answered = true;
    },
    gone: () => {},
  };
  let serial: SerialLine | undefined;
  try {
    serial = await line();
    if (!serial.listen(listener)) return false;
    await new Promise<void>((resolve) => serial!.write('\r', resolve));
    const deadline = Date.now() + ms;
    while (!answered && Date.now() < deadline) await sleep(50);
    return answered;
  } catch {
    return false;
  } finally {
    serial?.unlisten(listener);
  }
}
