/**
 * @file The HTTP (and WebSocket) proxy to a web app on a port of a system:
 * `/gateway/instances/ID/systems/NAME/http/PORT/...`, path-based, so no
 * wildcard DNS is needed.
 *
 * The first request carries a single-use ticket (`?ticket=T`). It is swapped
 * for a proxy session whose token lives in the path:
 * `.../http/PORT/s/SESSION/...` (303 redirect). Why the path and not a cookie:
 * inside an LMS iframe our cookies are third-party cookies, which browsers
 * increasingly drop; a path token works there, and the web app's relative
 * links keep it. The token is bound to one instance, system and port, expires
 * after 30 idle minutes, and is kept out of referrers (Referrer-Policy) and
 * logs (the gateway logs no URLs). Web apps that link with absolute paths
 * (`/x`) leave the prefix; redirects (Location) are rewritten.
 *
 * The runtime reaches the port with `forward` (PortForwarding); a runtime
 * without it answers 501.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { ActivityMeter } from './activity.js';
import type { OriginPolicy } from './origin.js';
import type { TicketBook } from './tickets.js';

/** What a runtime offers for the HTTP proxy: a byte stream to a TCP port inside a system. */
export interface PortForwarding {
  forward(id: string, system: string, port: number): Promise<Duplex>;
}

export const canForward = (r: Runtime | undefined): r is Runtime & PortForwarding =>
  typeof (r as Partial<PortForwarding> | undefined)?.forward === 'function';

const PROXY_PATH =
  /^\/gateway\/instances\/([^/]+)\/systems\/([^/]+)\/http\/(\d{1,5})(?:\/s\/([A-Za-z0-9_-]+))?(\/.*)?$/;
const SESSION_IDLE_MS = 30 * 60_000;
/** How long "the instance is running" is believed before the database is asked again. */
const STATE_CACHE_MS = 5_000;

interface ProxySession {
  userId: string;
  instanceId: string;
  system: string;
  port: number;
  expiresAt: number;
  meter: ActivityMeter;
}

interface Target {
  id: string;
  system: string;
  port: number;
  prefix: string;
  rest: string;
  search: string;
  session?: string;
}

export function parseProxyPath(url: string): Target | undefined {
  const u = new URL(url, 'http://gateway');
  const m = PROXY_PATH.exec(u.pathname);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  const id = decodeURIComponent(m[1]!);
  const system = decodeURIComponent(m[2]!);
  const base = `/gateway/instances/${m[1]}/systems/${m[2]}/http/${port}`;
  return {
    id,
    system,
    port,
    prefix: m[4] ? `${base}/s/${m[4]}` : base,
    rest: m[5] ?? '/',
    search: u.search,
    ...(m[4] ? { session: m[4] } : {}),
  };
}

export interface HttpProxyOptions {
  store: Store;
  runtime: Runtime | undefined;
  tickets: TicketBook;
  log: Logger;
  origins: OriginPolicy;
  activityIntervalMs?: number;
}

export class HttpProxy {
  private readonly sessions = new Map<string, ProxySession>();
  private readonly running = new Map<string, number>();

  constructor(private readonly o: HttpProxyOptions) {}

  request(req: http.IncomingMessage, res: http.ServerResponse): void {
    void this.serve(req, res).catch((err) => {
      this.o.log.error({ err }, 'gateway: proxy request failed');
      if (!res.headersSent) answer(res, 502, 'the web app in the lab did not answer');
      else res.destroy();
    });
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = parseProxyPath(req.url ?? '/');
    if (!target) return answer(res, 404, 'no such gateway path');
    if (!target.session) return this.enter(target, res);
    const session = await this.check(target);
    if (typeof session === 'string') return answer(res, session === 'running' ? 409 : 401, messageOf(session));
    if (!canForward(this.o.runtime)) return answer(res, 501, 'this runtime cannot proxy web apps yet');
    session.meter.seen();
    const stream = await this.o.runtime.forward(target.id, target.system, target.port);
    const headers = { ...req.headers, host: `${target.system}:${target.port}`, 'x-forwarded-prefix': target.prefix };
    const upstream = http.request({
      method: req.method,
      path: target.rest + target.search,
      headers,
      createConnection: () => stream as unknown as import('node:net').Socket,
    });
    upstream.on('response', (answerOf) => {
      const out = { ...answerOf.headers, 'referrer-policy': 'same-origin' };
      const location = answerOf.headers.location;
      if (location?.startsWith('/')) out.location = target.prefix + location;
      res.writeHead(answerOf.statusCode ?? 502, out);
      answerOf.pipe(res);
    });
    upstream.on('error', (err) => {
      this.o.log.info({ instance: target.id, system: target.system, port: target.port, err }, 'gateway: proxy error');
      if (!res.headersSent) answer(res, 502, `nothing answers on port ${target.port} of ${target.system}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  /** The ticket's first visit: a proxy session, and a redirect into it. */
  private async enter(target: Target, res: http.ServerResponse): Promise<void> {
    const url = new URL(target.search || '?', 'http://gateway');
    const grant = await this.o.tickets.redeem(url.searchParams.get('ticket'));
    if (
      grant?.console !== 'http' ||
      grant.instanceId !== target.id ||
      grant.system !== target.system ||
      grant.port !== target.port
    ) {
      return answer(res, 401, 'the ticket is missing, used or expired: open the web app again from the workspace');
    }
    const token = randomBytes(24).toString('base64url');
    this.sessions.set(token, {
      ...grant,
      port: target.port,
      expiresAt: Date.now() + SESSION_IDLE_MS,
      meter: new ActivityMeter(() => this.o.store.instances.touch(target.id), this.o.activityIntervalMs),
    });
    url.searchParams.delete('ticket');
    res.writeHead(303, {
      location: `${target.prefix}/s/${token}${target.rest}${url.search}`,
      'cache-control': 'no-store',
    });
    res.end();
  }

  /** The session of a request, or why it is refused: 'session' (unknown/expired) or 'running' (instance down). */
  private async check(target: Target): Promise<ProxySession | 'session' | 'running'> {
    const session = target.session ? this.sessions.get(target.session) : undefined;
    if (
      !session ||
      session.expiresAt <= Date.now() ||
      session.instanceId !== target.id ||
      session.system !== target.system ||
      session.port !== target.port
    ) {
      return 'session';
    }
    session.expiresAt = Date.now() + SESSION_IDLE_MS;
    if ((this.running.get(target.id) ?? 0) < Date.now()) {
      const instance = await this.o.store.instances.get(target.id);
      if (instance?.state !== 'running') return 'running';
      this.running.set(target.id, Date.now() + STATE_CACHE_MS);
    }
    return session;
  }

  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    void (async () => {
      const target = parseProxyPath(req.url ?? '/');
      if (!target?.session) return refuse(socket, 404, 'no such gateway path');
      if (!this.o.origins.permits(req.headers.origin)) return refuse(socket, 403, 'origin refused');
      const session = await this.check(target);
      if (typeof session === 'string') return refuse(socket, session === 'running' ? 409 : 401, messageOf(session));
      if (!canForward(this.o.runtime)) return refuse(socket, 501, 'this runtime cannot proxy web apps yet');
      const stream = await this.o.runtime.forward(target.id, target.system, target.port);
      const lines = [`${req.method} ${target.rest}${target.search} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!;
        if (name.toLowerCase() === 'host') continue;
        lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
      }
      lines.push(`Host: ${target.system}:${target.port}`, `X-Forwarded-Prefix: ${target.prefix}`);
      stream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) stream.write(head);
      const onTraffic = () => session.meter.seen();
      socket.on('data', onTraffic);
      stream.on('data', onTraffic);
      socket.pipe(stream).pipe(socket);
      const end = () => {
        socket.destroy();
        stream.destroy();
      };
      socket.on('error', end);
      stream.on('error', end);
      socket.on('close', end);
      stream.on('close', end);
    })().catch((err) => {
      this.o.log.error({ err }, 'gateway: proxy upgrade failed');
      refuse(socket, 502, 'the web app in the lab did not answer');
    });
  }

  /** Drops expired sessions (called by the gateway's keep-alive timer). */
  sweep(): void {
    const now = Date.now();
    for (const [token, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(token);
  }

  close(): void {
    this.sessions.clear();
  }
}

const messageOf = (why: 'session' | 'running') =>
  why === 'session'
    ? 'this web app link is not valid (or no longer): open it again from the workspace'
    : 'the lab is not running';

function answer(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${message}\n`);
}

function refuse(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
