/**
 * @file Single-use console tickets. A ticket is issued by an authorized API
 * call (server/api/tickets.ts) and redeemed once by the gateway when the
 * browser opens a socket: a short-lived bearer in the URL, because cookies
 * inside LMS iframes are unreliable and browsers cannot set headers on a
 * WebSocket.
 *
 * Kept in this process's memory: a ticket lives ~30 s, so losing them on a
 * restart costs one reconnect. With several replicas behind a load balancer
 * the socket must reach the replica that issued the ticket (sticky routing on
 * the instance id), or this book must be replaced by one in the database
 * (a hash per ticket, redeemed with one conditional update `usedAt: null →
 * now`); the interface stays the same.
 */
import { randomBytes } from 'node:crypto';
import type { GatewayConsole } from './protocol.js';

export const TICKET_TTL_MS = 30_000;

export interface Grant {
  userId: string;
  instanceId: string;
  system: string;
  console: GatewayConsole;
  /** For the HTTP proxy: the port of the web app. */
  port?: number;
}

interface Entry extends Grant {
  expiresAt: number;
}

export class TicketBook {
  private readonly tickets = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = TICKET_TTL_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  issue(grant: Grant): { ticket: string; expiresAt: Date } {
    this.sweep();
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.tickets.set(ticket, { ...grant, expiresAt });
    return { ticket, expiresAt: new Date(expiresAt) };
  }

  /** The grant of a live ticket, which is used up by this call; undefined when unknown, used or expired. */
  redeem(ticket: string | null | undefined): Grant | undefined {
    if (!ticket) return undefined;
    const entry = this.tickets.get(ticket);
    if (!entry) return undefined;
    this.tickets.delete(ticket);
    if (entry.expiresAt <= this.now()) return undefined;
    const { expiresAt: _, ...grant } = entry;
    return grant;
  }

  get size(): number {
    return this.tickets.size;
  }

  /** Drops expired tickets (called on every issue, so the map never outgrows the issue rate × TTL). */
  private sweep(): void {
    const now = this.now();
    for (const [ticket, entry] of this.tickets) if (entry.expiresAt <= now) this.tickets.delete(ticket);
  }
}
