/**
 * @file Counters for rate limits (failed sign-ins), kept in the database so
 * that every replica counts the same failures. The counting itself is
 * rate-limiter-flexible's RateLimiterMongo on the store's connection; this
 * file supplies what it needs and FerretDB 1.x lacks: FerretDB refuses TTL
 * indexes ("expireAfterSeconds is not implemented"), so the library's own
 * index creation is off, the unique index on `key` is ours (declared here and
 * built with the other indexes; without it an expired counter is duplicated
 * instead of replaced), and expired counters are swept here.
 *
 * On FerretDB the store uses one connection (store.ts), so one process's
 * increments are sequential; replicas on FerretDB may lose an increment now
 * and then, which only makes a limit a little looser.
 */
import { type Connection, Schema } from 'mongoose';
import { RateLimiterMongo } from 'rate-limiter-flexible';

const COLLECTION = 'rate_limits';
/** How often expired counters are deleted, at most. */
const SWEEP_MS = 60_000;

const rateLimitSchema = new Schema(
  {
    /** `<limit name>:<key>`, written by the library. */
    key: { type: String, required: true, unique: true },
    points: { type: Number, required: true },
    expire: { type: Date, default: null, index: true },
  },
  { versionKey: false },
);

export interface RateLimitPolicy {
  /** Distinguishes the limits' counters (part of the key). */
  name: string;
  /** Failures allowed per window. */
  points: number;
  windowSeconds: number;
  /** How long a key stays refused once over the limit. */
  blockSeconds: number;
}

export class RateLimitRepository {
  private readonly RateLimit;
  private lastSweep = 0;

  constructor(private readonly conn: Connection) {
    this.RateLimit = conn.model('RateLimit', rateLimitSchema, COLLECTION);
  }

  /** A limiter whose counters live in this database. */
  limiter(policy: RateLimitPolicy): RateLimiterMongo {
    return new RateLimiterMongo({
      storeClient: this.conn,
      tableName: COLLECTION,
      keyPrefix: policy.name,
      points: policy.points,
      duration: policy.windowSeconds,
      blockDuration: policy.blockSeconds,
      disableIndexesCreation: true,
    });
  }

  /** Deletes expired counters, at most once a minute (nothing else removes them: no TTL index). */
  async sweep(now = Date.now()): Promise<void> {
    if (now - this.lastSweep < SWEEP_MS) return;
    this.lastSweep = now;
    await this.RateLimit.deleteMany({ expire: { $lt: new Date(now) } });
  }
}
