/**
 * @file Helpers to talk to the gateway like a browser does, for tests and
 * benches: ask for a ticket, open the socket with an Origin, read what the
 * terminal shows, wait for the close code and reason.
 */
import WebSocket from 'ws';
import type { TestServer } from './server.js';

export interface Closed {
  code: number;
  reason: string;
}

export async function ticketFor(
  server: TestServer,
  token: string,
  id: string,
  body: { system: string; console: 'terminal' | 'desktop' | 'http'; port?: number },
) {
  return server.api(token, 'POST', `/api/v1/instances/${id}/tickets`, body);
}

export function openSocket(url: string, path: string, origin: string | null = url): WebSocket {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + path, origin === null ? {} : { origin });
  ws.binaryType = 'nodebuffer';
  return ws;
}

/** Resolves with the close code and reason (the socket must close within `seconds`). */
export function closed(ws: WebSocket, seconds = 10): Promise<Closed> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the socket did not close within ${seconds}s`)), seconds * 1000);
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
    ws.on('error', () => {});
  });
}

/** Collects what the socket receives; `until(text)` waits for the text to appear. */
export class Screen {
  text = '';
  private waiters: Array<() => void> = [];

  constructor(ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.text += data.toString('utf8');
      for (const w of this.waiters) w();
    });
  }

  until(pattern: string | RegExp, seconds = 10): Promise<void> {
    const found = () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    if (found()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `"${pattern}" did not appear within ${seconds}s; screen: ${JSON.stringify(this.text.slice(-400))}`,
            ),
          ),
        seconds * 1000,
      );
      const check = () => {
        if (!found()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }
}

export const opened = (ws: WebSocket) =>
  new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
