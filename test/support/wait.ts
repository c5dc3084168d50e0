/** Polls `probe` until it returns a value (not undefined), or fails after `seconds` naming what it waited for. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, seconds = 120): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${seconds}s waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
