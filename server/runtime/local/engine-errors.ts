/**
 * @file Reading the engine's HTTP errors (dockerode rejects with the status in
 * `statusCode` and the engine's message in `json.message` or `reason`).
 * 404 on delete means done; 409 on create means already there: adopt.
 */

export function statusCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err) {
    const code = (err as { statusCode: unknown }).statusCode;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;
/** 304: "already started", "already stopped". */
export const isNotModified = (err: unknown) => statusCode(err) === 304;

/** The engine's own words for an error, without dockerode's wrapping. */
export function engineMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const json = (err as { json?: unknown }).json;
    if (typeof json === 'object' && json !== null && 'message' in json) {
      return String((json as { message: unknown }).message);
    }
    if (Buffer.isBuffer(json)) return json.toString('utf8').trim();
    if (err instanceof Error) return err.message;
  }
  return String(err);
}

/** Swallows 404: for deletes, where gone already is the goal. */
export async function ignoreNotFound<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
