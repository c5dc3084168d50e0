import { describe, expect, it } from 'vitest';
import { TicketBook } from './tickets.js';

const grant = { userId: 'u1', instanceId: 'i1', system: 'client', console: 'terminal' as const };

// The book in memory; in the database: test/integration/gateway-tickets.test.ts.
describe('TicketBook', () => {
  it('redeems a ticket once', async () => {
    const book = new TicketBook();
    const { ticket } = await book.issue(grant);
    expect(await book.redeem(ticket)).toEqual(grant);
    expect(await book.redeem(ticket)).toBeUndefined();
  });

  it('refuses an expired ticket and forgets it', async () => {
    let now = 1000;
    const book = new TicketBook({ ttlMs: 30_000, now: () => now });
    const { ticket } = await book.issue(grant);
    now += 30_000;
    expect(await book.redeem(ticket)).toBeUndefined();
    expect(book.size).toBe(0);
  });

  it('refuses unknown and empty tickets', async () => {
    const book = new TicketBook();
    await book.issue(grant);
    expect(await book.redeem('nope')).toBeUndefined();
    expect(await book.redeem('')).toBeUndefined();
    expect(await book.redeem(null)).toBeUndefined();
  });

  it('sweeps expired tickets when issuing', async () => {
    let now = 0;
    const book = new TicketBook({ ttlMs: 10, now: () => now });
    for (let i = 0; i < 5; i++) await book.issue(grant);
    now = 100;
    await book.issue(grant);
    expect(book.size).toBe(1);
  });
});
