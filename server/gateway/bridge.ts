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

  // Backpressure towards the browser: pause the console while the socket's send buffer is full,
  // resume when the transport drains (cheaper than a callback per frame).
  let paused = false;
  stream.on('data', (chunk: Buffer) => {
    opts.onTraffic();
    ws.send(chunk, { binary: true });
    if (!paused && ws.bufferedAmount >= HIGH_WATER) {
      paused = true;
      stream.pause();
      opts.transport.once('drain', () => {
        paused = false;
        stream.resume();
      });
    }
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
