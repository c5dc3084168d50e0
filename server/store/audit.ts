import type { Models } from './models.js';

export interface AuditEvent {
  at: Date;
  actorId?: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

/** Who did what to which: every mutation of the API writes one event. */
export class AuditRepository {
  constructor(private readonly m: Models) {}

  async record(event: Omit<AuditEvent, 'at'>): Promise<void> {
    await this.m.Audit.create({ ...event, at: new Date() });
  }

  async list(filter: { target?: string; limit?: number } = {}): Promise<AuditEvent[]> {
    const docs = await this.m.Audit.find(filter.target ? { target: filter.target } : {})
      .sort({ at: -1 })
      .limit(filter.limit ?? 100)
      .lean();
    return docs.map((d) => ({
      at: d.at,
      actorId: d.actorId?.toString(),
      action: d.action,
      target: d.target,
      details: d.details as Record<string, unknown> | undefined,
    }));
  }
}
