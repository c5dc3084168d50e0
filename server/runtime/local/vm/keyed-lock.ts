/**
 * @file One operation at a time per key. QEMU's socket chardevs (QMP, guest
 * agent) serve one client at a time, and create/reset/destroy of one VM must
 * not interleave.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
