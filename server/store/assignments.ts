/**
 * @file Assignments: an LMS resource link bound to a lab, with the line item
 * its grades go to. Keyed `lti:<issuer>#<resource link id>`, so a repeated
 * launch or deep-linking answer finds the same assignment (idempotent).
 */
import type { Types } from 'mongoose';
import type { Models } from './models.js';

export interface Assignment {
  id: string;
  courseId: string;
  key: string;
  title: string;
  labName: string;
  lineItemUrl?: string;
  issuer?: string;
  clientId?: string;
  deploymentId?: string;
}

type Lean = {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  key: string;
  title: string;
  labName: string;
  lineItemUrl?: string | null;
  issuer?: string | null;
  clientId?: string | null;
  deploymentId?: string | null;
};
const toAssignment = (d: Lean): Assignment => ({
  id: d._id.toString(),
  courseId: d.courseId.toString(),
  key: d.key,
  title: d.title,
  labName: d.labName,
  ...(d.lineItemUrl ? { lineItemUrl: d.lineItemUrl } : {}),
  ...(d.issuer ? { issuer: d.issuer } : {}),
  ...(d.clientId ? { clientId: d.clientId } : {}),
  ...(d.deploymentId ? { deploymentId: d.deploymentId } : {}),
});

export class AssignmentRepository {
  constructor(private readonly m: Models) {}

  /** Creates or updates the assignment of a resource link; fields left out stay as they are. */
  async upsert(
    key: string,
    fields: Omit<Assignment, 'id' | 'key' | 'lineItemUrl'> & { lineItemUrl?: string | undefined },
  ): Promise<Assignment> {
    const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const d = await this.m.Assignment.findOneAndUpdate(
      { key },
      { $set: set, $setOnInsert: { key, createdAt: new Date() } },
      { upsert: true, returnDocument: 'after' },
    ).lean();
    return toAssignment(d as Lean);
  }

  async get(id: string): Promise<Assignment | undefined> {
    if (!/^[0-9a-f]{24}$/i.test(id)) return undefined;
    const d = await this.m.Assignment.findById(id).lean();
    return d ? toAssignment(d as Lean) : undefined;
  }

  async byKey(key: string): Promise<Assignment | undefined> {
    const d = await this.m.Assignment.findOne({ key }).lean();
    return d ? toAssignment(d as Lean) : undefined;
  }

  async ofCourse(courseId: string): Promise<Assignment[]> {
    return (await this.m.Assignment.find({ courseId }).sort({ createdAt: 1 }).lean()).map((d) =>
      toAssignment(d as Lean),
    );
  }
}
