/**
 * @file Leader leases: one holder at a time per job name, so that each
 * background job runs on one server replica only.
 *
 * A lease is a sequence of terms, one document per term (`<name>#<term>`).
 * Taking a free or expired lease inserts the next term: the unique `_id`
 * lets exactly one taker win, even on FerretDB 1.x, whose conditional
 * updates are not atomic across connections (server/store/store.ts). Only
 * the holder of a term ever updates it (renewal, release), and it renews
 * only while its term has not expired, while others take over only a margin
 * after the expiry; so two replicas never both renew or take one term. No
 * TTL index: a holder killed with -9 simply stops renewing, its term
 * expires, and the next taker starts a new one.
 *
 * Expiry is compared with each replica's clock: replicas need clocks that
 * agree to well within the margin (NTP does).
 */
import { type Connection, Schema } from 'mongoose';
import { isDuplicateKey } from './store.js';

const leaseSchema = new Schema(
  {
    /** `<name>#<term>`. */
    _id: { type: String, required: true },
    name: { type: String, required: true, index: true },
    term: { type: Number, required: true },
    holder: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    /** When this term was taken (how long its holder has led). */
    since: { type: Date, required: true },
  },
  { versionKey: false },
);

export interface LeaseRecord {
  name: string;
  term: number;
  holder: string;
  expiresAt: Date;
  since: Date;
}

type LeaseDoc = { _id: string; name: string; term: number; holder: string; expiresAt: Date; since: Date };
const toRecord = (d: LeaseDoc): LeaseRecord => ({
  name: d.name,
  term: d.term,
  holder: d.holder,
  expiresAt: d.expiresAt,
  since: d.since,
});

export class LeaseRepository {
  private readonly Lease;

  constructor(conn: Connection) {
    this.Lease = conn.model('Lease', leaseSchema, 'leases');
  }

  private async latest(name: string): Promise<LeaseDoc | undefined> {
    const [d] = await this.Lease.find({ name }).sort({ term: -1 }).limit(1).lean();
    return d as LeaseDoc | undefined;
  }

  /**
   * Takes or renews the lease `name` for `holder` until now + ttlMs. True if
   * `holder` holds it now; false if someone else holds it (or just took it).
   */
  async acquire(name: string, holder: string, ttlMs: number, now = new Date()): Promise<boolean> {
    const t = now.getTime();
    const current = await this.latest(name);
    if (current && current.holder === holder && current.expiresAt.getTime() > t) {
      const renewed = await this.Lease.updateOne(
        { _id: current._id, holder },
        { $set: { expiresAt: new Date(t + ttlMs) } },
      );
      return renewed.matchedCount === 1;
    }
    // Held by another until its expiry and a margin (for a renewal written at the last moment).
    if (current && current.expiresAt.getTime() + ttlMs / 20 >= t) return false;
    const term = (current?.term ?? 0) + 1;
    try {
      await this.Lease.create({
        _id: `${name}#${term}`,
        name,
        term,
        holder,
        expiresAt: new Date(t + ttlMs),
        since: now,
      });
    } catch (err) {
      if (isDuplicateKey(err)) return false; // another replica took this term first
      throw err;
    }
    await this.Lease.deleteMany({ name, term: { $lt: term } }); // old terms: history nobody reads
    return true;
  }

  /** Gives the lease up (a clean shutdown), so another replica takes over at once. */
  async release(name: string, holder: string): Promise<void> {
    const current = await this.latest(name);
    if (current?.holder !== holder) return;
    await this.Lease.updateOne({ _id: current._id, holder }, { $set: { expiresAt: new Date(0) } });
  }

  /** The current term of a lease (possibly expired), if it was ever taken. */
  async get(name: string): Promise<LeaseRecord | undefined> {
    const d = await this.latest(name);
    return d ? toRecord(d) : undefined;
  }

  /** The current term of every lease. */
  async list(): Promise<LeaseRecord[]> {
    const docs = (await this.Lease.find({}).sort({ name: 1, term: -1 }).lean()) as LeaseDoc[];
    const latest = new Map<string, LeaseDoc>();
    for (const d of docs) if (!latest.has(d.name)) latest.set(d.name, d);
    return [...latest.values()].map(toRecord);
  }
}
