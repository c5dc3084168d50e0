/**
 * @file The gateway: authenticated browser sockets to consoles
 * (DESIGN.md "Gateway and access"). It sits on the HTTP server beside the
 * Express app, answering `/gateway/...` upgrades (terminal, desktop, and the
 * lab web apps' WebSockets) and requests (the HTTP proxy), so that ticket-
 * and session-bearing URLs never pass the app's request log.
 *
 * A console socket is accepted first and then checked, so that every refusal
 * is a WebSocket close with a code and a reason the page can show (a refused
 * handshake only gives the browser "error"). Nothing flows before the checks.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log.js';
import { type Runtime, RuntimeError } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { ActivityMeter } from './activity.js';
import { bridge, closeSocket } from './bridge.js';
import { HttpProxy } from './http-proxy.js';
import { OriginPolicy } from './origin.js';
import { CLOSE, GATEWAY_PREFIX } from './protocol.js';
import type { TicketBook } from './tickets.js';

const CONSOLE_PATH = /^\/gateway\/instances\/([^/]+)\/systems\/([^/]+)\/(terminal|desktop)$/;
const PING_INTERVAL_MS = 25_000;

export interface GatewayOptions {
  store: Store;
  runtime: Runtime | undefined;
  tickets: TicketBook;
  log: Logger;
  /** URLs whose origins may open sockets (the public URL and GATEWAY_ORIGINS). */
  origins: string[];
  pingIntervalMs?: number;
  activityIntervalMs?: number;
}

/** Why an instance in this state has no console, in words for the user. */
export function notRunningReason(state: string): string {
  switch (state) {
    case 'paused':
      return 'the lab is paused: resume it to use its consoles';
    case 'requested':
    case 'provisioning':
      return 'the lab is still starting: wait until it is running';
    case 'failed':
      return 'the lab failed: reset or stop it';
    default:
      return `the lab is ${state}: start it again to use its consoles`;
  }
}

export class Gateway {
  readonly origins: OriginPolicy;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4 << 20 });
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly ping: NodeJS.Timeout;
  readonly proxy: HttpProxy;

  constructor(private readonly o: GatewayOptions) {
    this.origins = new OriginPolicy(o.origins);
    this.proxy = new HttpProxy({ ...o, origins: this.origins });
    this.ping = setInterval(() => this.keepAlive(), o.pingIntervalMs ?? PING_INTERVAL_MS);
    this.ping.unref();
  }

  /** Open console sockets (for metrics and benches). */
  get sockets(): number {
    return this.wss.clients.size;
  }

  /** Handles a request under /gateway/; false for any other path (the app's). */
  handleRequest(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (!req.url?.startsWith(GATEWAY_PREFIX)) return false;
    this.proxy.request(req, res);
    return true;
  }

  /** Handles an upgrade under /gateway/; false for any other path. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!req.url?.startsWith(GATEWAY_PREFIX)) return false;
    const pathname = new URL(req.url, 'http://gateway').pathname;
    if (!CONSOLE_PATH.test(pathname)) {
      this.proxy.upgrade(req, socket, head);
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.alive.set(ws, true);
      ws.on('pong', () => this.alive.set(ws, true));
      void this.open(ws, req, socket).catch((err) => {
        this.o.log.error({ err }, 'gateway: console failed to open');
        closeSocket(ws, CLOSE.runtime, 'the console could not be opened; try again');
      });
    });
    return true;
  }

  private async open(ws: WebSocket, req: http.IncomingMessage, transport: Duplex): Promise<void> {
    // Frames the browser sends while the checks run are kept for the console.
    const early: Array<[RawData, boolean]> = [];
    const keep = (data: RawData, isBinary: boolean) => early.push([data, isBinary]);
    ws.on('message', keep);

    if (!this.origins.permits(req.headers.origin)) {
      this.o.log.info({ origin: req.headers.origin }, 'gateway: origin refused');
      return closeSocket(ws, CLOSE.origin, 'this page is not allowed to open consoles (origin refused)');
    }
    const url = new URL(req.url ?? '/', 'http://gateway');
    const [, rawId, rawSystem, kind] = CONSOLE_PATH.exec(url.pathname) ?? [];
    const id = decodeURIComponent(rawId ?? '');
    const system = decodeURIComponent(rawSystem ?? '');
    const grant = await this.o.tickets.redeem(url.searchParams.get('ticket'));
    if (!grant || grant.instanceId !== id || grant.system !== system || grant.console !== kind) {
      return closeSocket(ws, CLOSE.ticket, 'the console ticket is missing, used or expired: reconnect for a new one');
    }
    const instance = await this.o.store.instances.get(id);
    if (!instance) return closeSocket(ws, CLOSE.notFound, `instance ${id} not found`);
    if (instance.state !== 'running') return closeSocket(ws, CLOSE.notRunning, notRunningReason(instance.state));
    if (!this.o.runtime) return closeSocket(ws, CLOSE.runtime, 'no runtime is configured on this server');

    let stream: Duplex;
    try {
      stream =
        kind === 'terminal'
          ? await this.o.runtime.terminal(id, system, { cols: 80, rows: 24 })
          : await this.o.runtime.desktop(id, system);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code =
        err instanceof RuntimeError && err.code === 'not-found'
          ? CLOSE.notFound
          : err instanceof RuntimeError && err.code === 'unavailable'
            ? CLOSE.notRunning
            : CLOSE.runtime;
      this.o.log.warn({ instance: id, system, console: kind, err }, 'gateway: runtime refused the console');
      return closeSocket(ws, code, message);
    }
    if (ws.readyState !== WebSocket.OPEN) {
      stream.destroy();
      return;
    }
    ws.off('message', keep);
    const meter = new ActivityMeter(() => this.o.store.instances.touch(id), this.o.activityIntervalMs);
    this.o.log.info({ instance: id, system, console: kind, user: grant.userId }, 'gateway: console opened');
    bridge(ws, stream, early, {
      transport,
      onTraffic: () => meter.seen(),
      endReason: kind === 'terminal' ? 'the terminal session ended' : 'the desktop closed',
      onClose: (why) => this.o.log.info({ instance: id, system, console: kind, why }, 'gateway: console closed'),
    });
  }

  private keepAlive(): void {
    for (const ws of this.wss.clients) {
      if (this.alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
    this.proxy.sweep();
  }

  /** Drops every console socket without a close frame, as a network blip does (tests, operators). */
  dropAll(): void {
    for (const ws of this.wss.clients) ws.terminate();
  }

  /** Closes every socket (server shutdown). */
  close(): void {
    clearInterval(this.ping);
    for (const ws of this.wss.clients) closeSocket(ws, CLOSE.goingAway, 'the server is restarting: reconnect shortly');
    this.proxy.close();
    this.wss.close();
  }
}
