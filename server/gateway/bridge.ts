/**
 * @file A console socket once it is allowed: bytes between the browser's
 * WebSocket and the runtime's stream, with flow control both ways (a slow
 * browser pauses the stream; a slow PTY pauses the socket), the terminal's
 * resize message, and a close with a reason when either side ends.
 */
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { TerminalStream } from '../runtime/runtime.js';
import { CLOSE, parseControl } from './protocol.js';

/** Above this many bytes queued towards the browser, the runtime stream is paused. */
const HIGH_WATER = 1 << 20;
/** Chunks from the console below this size are gathered into one frame (see below). */
const SMALL_CHUNK = 16 * 1024;
/** Size of the reused frames big chunks are copied into (see below). */
const FRAME = 256 * 1024;
/** Reused frames kept per socket: enough for HIGH_WATER in flight. */
const SPARE_FRAMES = 6;
const TRIM_MS = 5_000;

export interface BridgeOptions {
  /** The socket under the WebSocket (its 'drain' says the browser caught up). */
  transport: Duplex;
  /** Called on every frame in either direction (activity). */
  onTraffic: () => void;
  /** For the log: why the console closed. */
  onClose?: (why: string) => void;
  endReason: string;
}

const asBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

/** Reason texts are limited to 123 bytes by the protocol. */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= 123
    ? text
    : `${bytes
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD$/, '')}...`;
}

export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) return;
  ws.close(code, closeReason(reason));
}

/**
 * Pipes `ws` ⇄ `stream`. Frames that arrived before the stream was open are
 * passed in `early` and written first.
 */
export function bridge(
  ws: WebSocket,
  stream: Duplex | TerminalStream,
  early: Array<[RawData, boolean]>,
  opts: BridgeOptions,
): void {
  const terminal = 'resize' in stream ? stream : undefined;
  let closed = false;
  const finish = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    flush();
    opts.onClose?.(reason);
    closeSocket(ws, code, reason);
    stream.destroy();
  };

  const fromBrowser = (data: RawData, isBinary: boolean) => {
    opts.onTraffic();
    if (!isBinary) {
      const control = parseControl(asBuffer(data).toString('utf8'));
      if (control && terminal) void terminal.resize({ cols: control.cols, rows: control.rows }).catch(() => {});
      return;
    }
    if (!stream.write(asBuffer(data))) {
      ws.pause();
      stream.once('drain', () => ws.resume());
    }
  };
  for (const [data, isBinary] of early) fromBrowser(data, isBinary);
  ws.on('message', fromBrowser);

  // Towards the browser, without waiting for more than the next turn of the event loop:
  // - small chunks that arrive together (a VNC update or a screen of terminal output written in
  //   pieces) are gathered into one frame;
  // - big chunks (a socket read's 64 KiB) are copied into frames of FRAME bytes that this socket
  //   reuses, several reads per frame. Fewer frames, and the stream's own buffers die young: a chunk
  //   that waits in the socket's queue through two young-generation collections is promoted, and a
  //   stream of them made V8 run a full collection every few megabytes (measured: 97 full
  //   collections for 1.3 GiB relayed, twice the relay's CPU time).
  // Backpressure: the console is paused while the socket's send buffer is over HIGH_WATER and
  // resumed when the transport drains (cheaper than a callback per frame).
  let paused = false;
  let small: Buffer[] = [];
  let smallBytes = 0;
  let frame: Buffer | undefined;
  let used = 0;
  let scheduled = false;
  const spare: Buffer[] = [];
  // Spare frames are dropped a while after a burst began, so an idle socket keeps none.
  let trimming = false;
  const send = (data: Buffer, done?: () => void) => {
    ws.send(data, { binary: true }, done);
    if (!paused && ws.bufferedAmount >= HIGH_WATER) {
      paused = true;
      stream.pause();
      opts.transport.once('drain', () => {
        paused = false;
        stream.resume();
      });
    }
  };
  const flush = () => {
    if (smallBytes > 0) {
      const data = small.length === 1 ? small[0]! : Buffer.concat(small, smallBytes);
      small = [];
      smallBytes = 0;
      if (ws.readyState === ws.OPEN) send(data);
    }
    if (frame && used > 0) {
      const full = frame;
      const data = full.subarray(0, used);
      frame = undefined;
      used = 0;
      if (ws.readyState === ws.OPEN) {
        send(data, () => {
          if (spare.length < SPARE_FRAMES) spare.push(full);
        });
      }
    }
  };
  const later = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      flush();
    });
  };
  const copyIn = (chunk: Buffer) => {
    if (frame && used + chunk.length > FRAME) flush();
    if (!frame) {
      frame = spare.pop() ?? Buffer.allocUnsafeSlow(FRAME);
      used = 0;
      if (!trimming) {
        trimming = true;
        setTimeout(() => {
          spare.length = 0;
          trimming = false;
        }, TRIM_MS).unref();
      }
    }
    chunk.copy(frame, used);
    used += chunk.length;
    if (used + SMALL_CHUNK > FRAME) flush();
  };
  stream.on('data', (chunk: Buffer) => {
    opts.onTraffic();
    if (chunk.length > FRAME) {
      flush();
      send(chunk);
    } else if (frame) {
      copyIn(chunk);
    } else if (chunk.length >= SMALL_CHUNK) {
      flush();
      copyIn(chunk);
    } else {
      small.push(chunk);
      smallBytes += chunk.length;
      if (smallBytes >= SMALL_CHUNK) flush();
    }
    later();
  });
  stream.on('end', () => finish(CLOSE.ended, opts.endReason));
  stream.on('close', () => finish(CLOSE.ended, opts.endReason));
  stream.on('error', (err) => finish(CLOSE.runtime, `console error: ${err.message}`));
  ws.on('close', () => {
    closed = true;
    stream.destroy();
  });
  ws.on('error', () => stream.destroy());
}
