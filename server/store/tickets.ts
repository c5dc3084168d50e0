/**
 * @file Console tickets in the database (server/gateway/tickets.ts), so that
 * a ticket issued by one replica opens a socket on any other: no sticky
 * routing needed. Only the ticket's hash is stored (a database dump gives no
 * usable ticket), with its grant and expiry.
 *
 * Single use: a ticket is taken by deleting its document, and only the caller
 * whose delete removed it (deletedCount 1) gets the grant. findOneAndDelete
 * would not do on FerretDB 1.x, which applies it as read-then-write: two
 * replicas both got the grant (measured with test/integration/
 * gateway-tickets.test.ts); a delete of one `_id` removes the row once.
 * No TTL index (FerretDB has none): expired tickets are refused when taken and
 * swept by the issuer now and then.
 */
import { type Connection, Schema } from 'mongoose';

const ticketSchema = new Schema(
  {
    /** SHA-256 of the ticket. */
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    instanceId: { type: String, required: true },
    system: { type: String, required: true },
    console: { type: String, required: true },
    port: Number,
    expiresAt: { type: Date, required: true, index: true },
  },
  { versionKey: false },
);

export interface StoredTicket {
  userId: string;
  instanceId: string;
  system: string;
  console: string;
  port?: number;
  expiresAt: Date;
}

type TicketDoc = StoredTicket & { _id: string; port?: number | null };

export class TicketRepository {
  private readonly Ticket;

  constructor(conn: Connection) {
    this.Ticket = conn.model('ConsoleTicket', ticketSchema, 'console_tickets');
  }

  async put(hash: string, ticket: StoredTicket): Promise<void> {
    await this.Ticket.create({ _id: hash, ...ticket });
  }

  /** The ticket, deleted by this call; undefined when unknown or already taken (by anyone, on any replica). */
  async take(hash: string): Promise<StoredTicket | undefined> {
    const doc = (await this.Ticket.findById(hash).lean()) as TicketDoc | null;
    if (!doc) return undefined;
    const { deletedCount } = await this.Ticket.deleteOne({ _id: hash });
    if (deletedCount !== 1) return undefined;
    return {
      userId: doc.userId,
      instanceId: doc.instanceId,
      system: doc.system,
      console: doc.console,
      ...(typeof doc.port === 'number' ? { port: doc.port } : {}),
      expiresAt: doc.expiresAt,
    };
  }

  /** Deletes expired tickets. */
  async sweep(now = new Date()): Promise<void> {
    await this.Ticket.deleteMany({ expiresAt: { $lte: now } });
  }
}
