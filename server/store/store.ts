/**
 * @file The database connection and the repositories. Only `server/store/`
 * imports mongoose; everything else sees plain typed records.
 */
import mongoose from 'mongoose';
import { AssignmentRepository } from './assignments.js';
import { AuditRepository } from './audit.js';
import { GradeOutboxRepository } from './grades.js';
import { InstanceRepository } from './instances.js';
import { LabRepository } from './labs.js';
import { LeaseRepository } from './leases.js';
import { registerModels } from './models.js';
import { PlatformRepository } from './platforms.js';
import { PoolRepository } from './pools.js';
import { ProgressRepository } from './progress.js';
import { RateLimitRepository } from './rate-limits.js';
import { TicketRepository } from './tickets.js';
import { TokenRepository } from './tokens.js';
import { UserRepository } from './users.js';

export class Store {
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly labs: LabRepository;
  readonly instances: InstanceRepository;
  readonly audit: AuditRepository;
  readonly leases: LeaseRepository;
  readonly assignments: AssignmentRepository;
  readonly grades: GradeOutboxRepository;
  readonly platforms: PlatformRepository;
  readonly progress: ProgressRepository;
  readonly rateLimits: RateLimitRepository;
  readonly tickets: TicketRepository;
  readonly pools: PoolRepository;

  private constructor(
    private readonly conn: mongoose.Connection,
    /** Leases' own connection on FerretDB (the same one on MongoDB): see connect(). */
    private readonly leaseConn: mongoose.Connection,
  ) {
    const models = registerModels(conn);
    this.users = new UserRepository(models);
    this.tokens = new TokenRepository(models);
    this.labs = new LabRepository(models);
    this.instances = new InstanceRepository(models);
    this.audit = new AuditRepository(models);
    this.leases = new LeaseRepository(leaseConn);
    this.assignments = new AssignmentRepository(models);
    this.grades = new GradeOutboxRepository(models, conn);
    this.platforms = new PlatformRepository(conn);
    this.progress = new ProgressRepository(models);
    this.rateLimits = new RateLimitRepository(conn);
    this.tickets = new TicketRepository(conn);
    this.pools = new PoolRepository(models);
  }

  /** Connects and makes sure every index exists (idempotent). */
  static async connect(uri: string): Promise<Store> {
    const options = { serverSelectionTimeoutMS: 5000, autoIndex: false };
    let conn = await mongoose.createConnection(uri, options).asPromise();
    let leaseConn = conn;
    if (await isFerretDb(conn)) {
      // FerretDB 1.x applies concurrent updates of one document as read-modify-write without a lock:
      // two connections updating one document at once lose one update (measured: 46 of 50 rounds).
      // One connection makes the server's own writes sequential, so one server process is safe;
      // several server processes on one database need MongoDB (README, "Database").
      await conn.close();
      conn = await mongoose.createConnection(uri, { ...options, maxPoolSize: 1 }).asPromise();
      // Leases get a connection of their own: behind 200 learners' requests on the one connection a
      // renewal came too late and the leader lost its lease (bench/load.ts). Safe: a lease term is
      // only ever inserted (unique) or updated by its holder, never by two connections at once.
      leaseConn = await mongoose.createConnection(uri, { ...options, maxPoolSize: 1 }).asPromise();
    }
    const store = new Store(conn, leaseConn);
    for (const c of new Set([conn, leaseConn])) {
      for (const model of Object.values(c.models)) await model.createIndexes();
    }
    return store;
  }

  /** For /readyz: true when the database answers (asked on the leases' connection: no queue of requests before it). */
  async ping(): Promise<boolean> {
    try {
      await this.leaseConn.db?.admin().ping();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.conn.close();
    if (this.leaseConn !== this.conn) await this.leaseConn.close();
  }

  /** Tests only: drops the whole database. */
  async dropDatabase(): Promise<void> {
    await this.conn.dropDatabase();
  }
}

/** True for a duplicate-key error of a unique index. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

async function isFerretDb(conn: mongoose.Connection): Promise<boolean> {
  const info = await conn.db?.admin().command({ buildInfo: 1 });
  return info !== undefined && 'ferretdbVersion' in info;
}
