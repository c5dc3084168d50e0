/**
 * @file FerretDB's SQLite backend refuses a write with "database is locked"
 * when writers meet under load (FerretDB 1.x answers at once when a read
 * must become a write, whatever the busy timeout). Such a refusal is
 * transient: calls whose failure would cost a learner their lab retry it.
 */

export function isBusy(err: unknown): boolean {
  return /database is locked|SQLITE_BUSY/.test((err as Error)?.message ?? '');
}

/** Runs `call`, retrying a busy refusal a few times with jittered backoff; other errors pass through. */
export async function retryBusy<T>(call: () => Promise<T>, tries = 6): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isBusy(err) || attempt + 1 >= tries) throw err;
      await new Promise((r) => setTimeout(r, 25 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}
