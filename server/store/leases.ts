/**
 * @file Leader leases: one holder at a time per job name, so that each
 * background job runs on one server replica only. One document per name;
 * taking or renewing it is one conditional update ("mine, or expired"),
 * which MongoDB and FerretDB 1.x both apply atomically. No TTL index: an
 * expired lease simply loses its claim and the next taker overwrites it, so a
 * holder killed with -9 is replaced once its lease runs out.
 *
 * Expiry is compared with the taker's clock: replicas need clocks that agree
 * to well within a lease (NTP does).
 */
import { type Connection, Schema } from 'mongoose';
import { isDuplicateKey } from './store.js';

const leaseSchema = new Schema(
  {
    /** The job name. */
    _id: { type: String, required: true },
    holder: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    /** When the current holder took it (kept across renewals: how long it has led). */
    since: { type: Date, required: true },
  },
  { versionKey: false },
);

export interface LeaseRecord {
  name: string;
  holder: string;
  expiresAt: Date;
  since: Date;
}

export class LeaseRepository {
  private readonly Lease;

  constructor(conn: Connection) {
    this.Lease = conn.model('Lease', leaseSchema, 'leases');
  }

  /**
   * Takes or renews the lease `name` for `holder` until now + ttlMs. True if
   * `holder` holds it now; false if someone else holds an unexpired lease.
   */
  async acquire(name: string, holder: string, ttlMs: number, now = new Date()): Promise<boolean> {
    const expiresAt = new Date(now.getTime() + ttlMs);
    try {
      // Renewal first: it keeps `since`.
      const renewed = await this.Lease.findOneAndUpdate(
        { _id: name, holder },
        { $set: { expiresAt } },
        { returnDocument: 'after' },
      ).lean();
      if (renewed) return true;
      const taken = await this.Lease.findOneAndUpdate(
        { _id: name, expiresAt: { $lt: now } },
        { $set: { holder, expiresAt, since: now } },
        { returnDocument: 'after' },
      ).lean();
      if (taken) return true;
      // Never held: the insert succeeds for one taker, the others meet the unique _id.
      await this.Lease.create({ _id: name, holder, expiresAt, since: now });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Gives the lease up (a clean shutdown), so another replica takes over at once. */
  async release(name: string, holder: string): Promise<void> {
    await this.Lease.deleteOne({ _id: name, holder });
  }

  async get(name: string): Promise<LeaseRecord | undefined> {
    const d = await this.Lease.findById(name).lean();
    return d
      ? { name: String(d._id), holder: String(d.holder), expiresAt: d.expiresAt as Date, since: d.since as Date }
      : undefined;
  }

  async list(): Promise<LeaseRecord[]> {
    const docs = await this.Lease.find({}).sort({ _id: 1 }).lean();
    return docs.map((d) => ({
      name: String(d._id),
      holder: String(d.holder),
      expiresAt: d.expiresAt as Date,
      since: d.since as Date,
    }));
  }
}
