/**
 * The store on the real FerretDB: concurrent writes from one server process
 * are never lost and a state transition has exactly one winner. (FerretDB 1.x
 * loses concurrent updates across connections; the store keeps to one.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../server/store/store.js';
import { testMongoUri } from '../support/server.js';

let store: Store;
beforeAll(async () => {
  store = await Store.connect(testMongoUri('lo-store'));
});
afterAll(async () => {
  await store?.dropDatabase();
  await store?.close();
});

const newInstance = (id: string) =>
  store.instances.create({
    id,
    ownerId: '64b000000000000000000001',
    labName: 'lab',
    labVersion: 1,
    credentials: [],
  });

describe('store under concurrency', () => {
  it('gives a transition from one read exactly one winner', async () => {
    for (let round = 0; round < 20; round++) {
      const created = await newInstance(`irace${round}`);
      const results = await Promise.all(
        (['provisioning', 'failed', 'stopping', 'provisioning'] as const).map((to) =>
          store.instances.transition(created, to, 'test'),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const stored = await store.instances.get(created.id);
      expect(stored?.revision).toBe(1);
      expect(stored?.history).toHaveLength(1);
    }
  });

  it('activity moves the idle clock forward only', async () => {
    const created = await newInstance('itouch');
    const later = new Date(Date.now() + 60_000);
    await store.instances.touch(created.id, later);
    await store.instances.touch(created.id, new Date(later.getTime() - 30_000)); // a late report of earlier traffic
    expect((await store.instances.get(created.id))?.lastActivityAt.getTime()).toBe(later.getTime());
  });

  it('keeps both of two concurrent updates of different fields of one instance', async () => {
    for (let round = 0; round < 20; round++) {
      const created = await newInstance(`ifields${round}`);
      const later = new Date(Date.now() + 60_000);
      await Promise.all([
        store.instances.transition(created, 'provisioning', 'test'),
        store.instances.touch(created.id, later),
        store.instances.setCredentials(created.id, [{ system: 's', user: 'u', passwordEnc: 'x' }]),
      ]);
      const stored = await store.instances.get(created.id);
      expect(stored?.state).toBe('provisioning');
      expect(stored?.lastActivityAt.getTime()).toBe(later.getTime());
      expect(stored?.credentials).toHaveLength(1);
    }
  });
});
