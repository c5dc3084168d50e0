/**
 * @file Rate limits on failed sign-ins (password at POST /session, and API
 * tokens anywhere), so that passwords cannot be guessed at speed.
 *
 * Two counters of failures, both shared by the replicas (store/rate-limits.ts):
 * - per (client address, user name): a few wrong passwords for one account
 *   from one address. Keyed by the address too, so that someone elsewhere
 *   cannot lock a user out by failing on purpose; reset by a success.
 * - per client address: many failures for any accounts or tokens (password
 *   spraying, token guessing), high enough for a classroom behind one NAT.
 * Over a limit, the answer is 429 with Retry-After until the block ends.
 * A password is checked against the limits before it is verified; a token is
 * not (a token cannot be guessed, and a database read on every API call is
 * what the limit would cost): its failures count, and answer 429 once over.
 */
import type { Request } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { HttpError } from '../errors.js';
import type { RateLimitPolicy } from '../store/rate-limits.js';
import type { Store } from '../store/store.js';

export const PER_NAME: RateLimitPolicy = { name: 'sign-in:name', points: 10, windowSeconds: 900, blockSeconds: 900 };
export const PER_ADDRESS: RateLimitPolicy = {
  name: 'sign-in:address',
  points: 100,
  windowSeconds: 3600,
  blockSeconds: 3600,
};

/** The client's address as Express sees it (`trust proxy` decides whether X-Forwarded-For counts). */
export const clientAddress = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

const minutes = (ms: number) => {
  const m = Math.ceil(ms / 60_000);
  return m <= 1 ? 'a minute' : `${m} minutes`;
};

export class SignInLimits {
  private readonly perName;
  private readonly perAddress;

  constructor(private readonly store: Store) {
    this.perName = store.rateLimits.limiter(PER_NAME);
    this.perAddress = store.rateLimits.limiter(PER_ADDRESS);
  }

  /** Throws 429 when the address, or this user name from this address, is refused for now. */
  async check(req: Request, name?: string): Promise<void> {
    const address = clientAddress(req);
    const [byAddress, byName] = await Promise.all([
      this.perAddress.get(address),
      name === undefined ? null : this.perName.get(nameKey(address, name)),
    ]);
    if (byAddress && byAddress.consumedPoints > PER_ADDRESS.points) throw refusal(req, byAddress, undefined);
    if (byName && byName.consumedPoints > PER_NAME.points) throw refusal(req, byName, name);
  }

  /** Counts a failure; throws 429 when it goes over a limit (this and later attempts are refused). */
  async failed(req: Request, name?: string): Promise<void> {
    const address = clientAddress(req);
    void this.store.rateLimits.sweep().catch(() => {});
    const over = await Promise.all([
      this.count(this.perAddress, address, PER_ADDRESS, { address }),
      name === undefined ? undefined : this.count(this.perName, nameKey(address, name), PER_NAME, { address, name }),
    ]);
    const [byAddress, byName] = over;
    if (byAddress) throw refusal(req, byAddress, undefined);
    if (byName) throw refusal(req, byName, name);
  }

  /** A good password: the failures of this name from this address are forgiven. */
  async succeeded(req: Request, name: string): Promise<void> {
    await this.perName.delete(nameKey(clientAddress(req), name));
  }

  /** The refusal when this failure is over the limit; the first one over is audited (a block starts). */
  private async count(
    limiter: ReturnType<Store['rateLimits']['limiter']>,
    key: string,
    policy: RateLimitPolicy,
    who: { address: string; name?: string },
  ): Promise<RateLimiterRes | undefined> {
    try {
      await limiter.consume(key);
      return undefined;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      if (err.consumedPoints === policy.points + 1) {
        await this.store.audit.record({
          action: 'session.throttle',
          target: who.name === undefined ? `address:${who.address}` : `user:local:${who.name}`,
          details: { ...who, failures: policy.points + 1, blockedSeconds: Math.ceil(err.msBeforeNext / 1000) },
        });
      }
      return err;
    }
  }
}

const nameKey = (address: string, name: string) => `${address}|${name}`;

function refusal(req: Request, res: RateLimiterRes, name: string | undefined): HttpError {
  const seconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  req.res?.setHeader('Retry-After', String(seconds));
  const what = name === undefined ? 'from this address' : `for user "${name}" from this address`;
  return new HttpError(429, `too many failed sign-ins ${what}: try again in ${minutes(res.msBeforeNext)}`, {
    retryAfterSeconds: seconds,
  });
}

/** One set of limits per store (the API's routes and authenticator share its counters). */
const byStore = new WeakMap<Store, SignInLimits>();
export function signInLimits(store: Store): SignInLimits {
  let limits = byStore.get(store);
  if (!limits) {
    limits = new SignInLimits(store);
    byStore.set(store, limits);
  }
  return limits;
}
