/**
 * Leader leases on the real database (FerretDB): one holder at a time under
 * contention (also between two connections, as between two server
 * processes: FerretDB 1.x does not apply conditional updates atomically
 * across connections, so leases rely on unique inserts), renewal by the
 * holder, takeover only after expiry, release for an immediate takeover.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../server/store/store.js';
import { testMongoUri } from '../support/server.js';

let store: Store;
let other: Store;
beforeAll(async () => {
  const uri = testMongoUri('lo-lease');
  store = await Store.connect(uri);
  other = await Store.connect(uri); // a second connection, as a second server process has
});
afterAll(async () => {
  await other?.close();
  await store?.dropDatabase();
  await store?.close();
});

describe('leader leases', () => {
  it('gives a free lease to exactly one of many concurrent takers', async () => {
    const now = new Date();
    const won = await Promise.all(
      Array.from({ length: 8 }, (_, n) => store.leases.acquire('contended', `holder-${n}`, 10_000, now)),
    );
    expect(won.filter(Boolean)).toHaveLength(1);
    const holder = `holder-${won.indexOf(true)}`;
    expect((await store.leases.get('contended'))?.holder).toBe(holder);
  });

  it('is renewed by its holder, refused to others until it expires, then taken over', async () => {
    const t0 = new Date('2030-01-01T00:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    expect(await store.leases.acquire('reaper', 'a', 10_000, t0)).toBe(true);
    expect(await store.leases.acquire('reaper', 'b', 10_000, at(5))).toBe(false);
    expect(await store.leases.acquire('reaper', 'a', 10_000, at(8))).toBe(true); // renewed until 18 s
    expect(await store.leases.acquire('reaper', 'b', 10_000, at(15))).toBe(false);
    const before = await store.leases.get('reaper');
    expect(before).toMatchObject({ holder: 'a', since: t0, expiresAt: at(18) });
    expect(await store.leases.acquire('reaper', 'b', 10_000, at(19))).toBe(true); // a died: expired
    expect(await store.leases.acquire('reaper', 'a', 10_000, at(20))).toBe(false);
    expect(await store.leases.get('reaper')).toMatchObject({ holder: 'b', since: at(19) });
  });

  it('is free at once after its holder releases it, and a release by another is a no-op', async () => {
    const now = new Date();
    expect(await store.leases.acquire('admission', 'a', 60_000, now)).toBe(true);
    await store.leases.release('admission', 'b');
    expect(await store.leases.acquire('admission', 'b', 60_000, now)).toBe(false);
    await store.leases.release('admission', 'a');
    expect(await store.leases.acquire('admission', 'b', 60_000, now)).toBe(true);
  });

  it('has one winner per round when two connections take a free or an expired lease at once', async () => {
    for (let round = 0; round < 25; round++) {
      const t0 = new Date(Date.UTC(2031, 0, 1, 0, round));
      const first = await Promise.all([
        store.leases.acquire(`race-${round}`, 'a', 1000, t0),
        other.leases.acquire(`race-${round}`, 'b', 1000, t0),
      ]);
      expect(first.filter(Boolean)).toHaveLength(1);
      const later = new Date(t0.getTime() + 5000); // expired: both try to take it over
      const again = await Promise.all([
        store.leases.acquire(`race-${round}`, 'c', 1000, later),
        other.leases.acquire(`race-${round}`, 'd', 1000, later),
      ]);
      expect(again.filter(Boolean)).toHaveLength(1);
      expect((await store.leases.get(`race-${round}`))?.holder).toBe(again[0] ? 'c' : 'd');
    }
  });
});
