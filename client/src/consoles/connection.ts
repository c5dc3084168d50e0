/**
 * @file One console's connection to the gateway, kept alive: a fresh ticket
 * per attempt (tickets are single-use), reconnection after a blip with
 * capped, jittered backoff, and no retry when the close code says retrying
 * cannot help until the user acts (origin refused, not found, not running).
 */
import { CLOSE, FINAL_CLOSE_CODES } from '../../../server/gateway/protocol.js';
import { ApiError, api, errorMessage, type Ticket } from '../api.js';
import { type Backoff, jitteredBackoff } from '../reconnect.js';

export type ConsoleKind = 'terminal' | 'desktop';
export type StatusLevel = 'info' | 'ok' | 'error';

export interface ConnectionOptions {
  instanceId: string;
  system: string;
  console: ConsoleKind;
  /** Called with each new socket, before it opens (attach handlers here). */
  attach(ws: WebSocket): void;
  /** What the user should read about the connection; `action` offers a button. */
  status(text: string, level: StatusLevel, action?: { label: string; run: () => void }): void;
  backoff?: Backoff;
}

/** A connection that lived this long resets the backoff: the next blip retries fast again. */
const STABLE_MS = 10_000;

export function socketUrl(path: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

export class ConsoleConnection {
  private attempt = 0;
  private timer: number | undefined;
  private ws: WebSocket | undefined;
  private disposed = false;
  private readonly backoff: Backoff;

  constructor(private readonly o: ConnectionOptions) {
    this.backoff = o.backoff ?? jitteredBackoff();
  }

  get socket(): WebSocket | undefined {
    return this.ws?.readyState === WebSocket.OPEN ? this.ws : undefined;
  }

  start(): void {
    this.attempt = 0;
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.disposed) return;
    window.clearTimeout(this.timer);
    this.o.status('connecting…', 'info');
    let ticket: Ticket;
    try {
      ticket = await api<Ticket>('POST', `/instances/${this.o.instanceId}/tickets`, {
        system: this.o.system,
        console: this.o.console,
      });
    } catch (err) {
      // 409: not running; 400/404: this console does not exist. Waiting will not help.
      if (err instanceof ApiError && [400, 401, 403, 404, 409].includes(err.status)) {
        return this.o.status(errorMessage(err), 'error');
      }
      return this.retry(errorMessage(err));
    }
    if (this.disposed) return;
    const ws = new WebSocket(socketUrl(ticket.url));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let openedAt = 0;
    ws.addEventListener('open', () => {
      openedAt = Date.now();
      this.o.status('connected', 'ok');
    });
    ws.addEventListener('close', (event) => {
      if (this.disposed || this.ws !== ws) return;
      this.ws = undefined;
      if (openedAt && Date.now() - openedAt > STABLE_MS) this.attempt = 0;
      const reason = event.reason || 'the connection was lost';
      if (event.code === CLOSE.ended) {
        return this.o.status(`${reason}.`, 'info', { label: 'Open a new one', run: () => this.start() });
      }
      if (FINAL_CLOSE_CODES.includes(event.code)) return this.o.status(reason, 'error');
      this.retry(reason);
    });
    this.o.attach(ws);
  }

  private retry(reason: string): void {
    if (this.disposed) return;
    const delay = this.backoff.delay(this.attempt++);
    this.o.status(`${reason}; reconnecting in ${Math.ceil(delay / 1000)} s…`, 'info', {
      label: 'Reconnect now',
      run: () => void this.connect(),
    });
    this.timer = window.setTimeout(() => void this.connect(), delay);
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.timer);
    this.ws?.close(1000, 'closed by the page');
    this.ws = undefined;
  }
}
