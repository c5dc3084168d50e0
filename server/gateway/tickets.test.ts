import { describe, expect, it } from 'vitest';
import { TicketBook } from './tickets.js';

const grant = { userId: 'u1', instanceId: 'i1', system: 'client', console: 'terminal' as const };

describe('TicketBook', () => {
  it('redeems a ticket once', () => {
    const book = new TicketBook();
    const { ticket } = book.issue(grant);
    expect(book.redeem(ticket)).toEqual(grant);
    expect(book.redeem(ticket)).toBeUndefined();
  });

  it('refuses an expired ticket and forgets it', () => {
    let now = 1000;
    const book = new TicketBook(30_000, () => now);
    const { ticket } = book.issue(grant);
    now += 30_000;
    expect(book.redeem(ticket)).toBeUndefined();
    expect(book.size).toBe(0);
  });

  it('refuses unknown and empty tickets', () => {
    const book = new TicketBook();
    book.issue(grant);
    expect(book.redeem('nope')).toBeUndefined();
    expect(book.redeem('')).toBeUndefined();
    expect(book.redeem(null)).toBeUndefined();
  });

  it('sweeps expired tickets when issuing', () => {
    let now = 0;
    const book = new TicketBook(10, () => now);
    for (let i = 0; i < 5; i++) book.issue(grant);
    now = 100;
    book.issue(grant);
    expect(book.size).toBe(1);
  });
});
