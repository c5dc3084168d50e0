/**
 * @file Single-use console tickets. A ticket is issued by an authorized API
 * call (server/api/tickets.ts) and redeemed once by the gateway when the
 * browser opens a socket: a short-lived bearer in the URL, because cookies
 * inside LMS iframes are unreliable and browsers cannot set headers on a
 * WebSocket.
 *
 * With a store (the server's), tickets live in the database
 * (store/tickets.ts): any replica redeems a ticket another issued, still once
 * only, so a load balancer needs no sticky routing. Without one (unit tests,
 * a single process), in this process's memory: a ticket lives ~30 s, so
 * losing them on a restart costs one reconnect.
 */
import { randomBytes } from 'node:crypto';
import { hashToken } from '../secrets.js';
import type { TicketRepository } from '../store/tickets.js';
import { CONSOLES, type GatewayConsole } from './protocol.js';

export const TICKET_TTL_MS = 30_000;
/** How often the database's expired tickets are swept, at most. */
const SWEEP_MS = 60_000;

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

export interface TicketBookOptions {
  /** Keep tickets in the database (shared by replicas). */
  store?: TicketRepository;
  ttlMs?: number;
  now?: () => number;
}

const isConsole = (c: string): c is GatewayConsole => (CONSOLES as readonly string[]).includes(c);

export class TicketBook {
  private readonly tickets = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(private readonly o: TicketBookOptions = {}) {
    this.ttlMs = o.ttlMs ?? TICKET_TTL_MS;
    this.now = o.now ?? (() => Date.now());
  }

  async issue(grant: Grant): Promise<{ ticket: string; expiresAt: Date }> {
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    if (this.o.store) {
      await this.o.store.put(hashToken(ticket), { ...grant, expiresAt: new Date(expiresAt) });
      this.sweepStore();
    } else {
      this.sweep();
      this.tickets.set(ticket, { ...grant, expiresAt });
    }
    return { ticket, expiresAt: new Date(expiresAt) };
  }

  /** The grant of a live ticket, which is used up by this call; undefined when unknown, used or expired. */
  async redeem(ticket: string | null | undefined): Promise<Grant | undefined> {
    if (!ticket) return undefined;
    let entry: Entry | undefined;
    if (this.o.store) {
      const stored = await this.o.store.take(hashToken(ticket));
      if (!stored || !isConsole(stored.console)) return undefined;
      entry = { ...stored, console: stored.console, expiresAt: stored.expiresAt.getTime() };
    } else {
      entry = this.tickets.get(ticket);
      this.tickets.delete(ticket);
    }
    if (!entry || entry.expiresAt <= this.now()) return undefined;
    const { expiresAt: _, ...grant } = entry;
    return grant;
  }

  /** Tickets held in memory (tests). */
  get size(): number {
    return this.tickets.size;
  }

  /** Drops expired tickets (called on every issue, so the map never outgrows the issue rate × TTL). */
  private sweep(): void {
    const now = this.now();
    for (const [ticket, entry] of this.tickets) if (entry.expiresAt <= now) this.tickets.delete(ticket);
  }

  private sweepStore(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_MS) return;
    this.lastSweep = now;
    void this.o.store?.sweep(new Date(now)).catch(() => {});
  }
}
