import { LRUCache } from 'lru-cache';
import { Types } from 'mongoose';
import type { Models } from './models.js';

export type CourseRole = 'instructor' | 'learner';

export interface User {
  id: string;
  key: string;
  name: string;
  email?: string;
  admin: boolean;
}

export interface Membership {
  courseId: string;
  role: CourseRole;
}

export interface Course {
  id: string;
  key: string;
  title: string;
}

type UserLean = { _id: Types.ObjectId; key: string; name: string; email?: string | null; admin?: boolean | null };
const toUser = (d: UserLean): User => ({
  id: d._id.toString(),
  key: d.key,
  name: d.name,
  ...(d.email ? { email: d.email } : {}),
  admin: d.admin === true,
});

export const isObjectId = (id: string) => Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id);

/** Users, courses and course memberships (roles). */
export class UserRepository {
  /**
   * A user's course roles, read by every authenticated call; a scan on
   * FerretDB (no index but _id), so kept a few seconds. A change made here
   * is seen at once; one made through another replica within that time.
   */
  private readonly roles = new LRUCache<string, Membership[]>({ max: 10_000, ttl: 5000 });

  constructor(private readonly m: Models) {}

  async get(id: string): Promise<User | undefined> {
    if (!isObjectId(id)) return undefined;
    const d = await this.m.User.findById(id).lean();
    return d ? toUser(d) : undefined;
  }

  async byKey(key: string): Promise<User | undefined> {
    const d = await this.m.User.findOne({ key }).lean();
    return d ? toUser(d) : undefined;
  }

  /** Creates the user of an identity, or updates its name/email; idempotent. */
  async upsert(key: string, fields: { name: string; email?: string; admin?: boolean }): Promise<User> {
    const d = await this.m.User.findOneAndUpdate(
      { key },
      { $set: fields, $setOnInsert: { key, createdAt: new Date() } },
      { upsert: true, returnDocument: 'after' },
    ).lean();
    return toUser(d!);
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.m.User.updateOne({ _id: id }, { $set: { passwordHash } });
  }

  async passwordHash(key: string): Promise<{ user: User; hash?: string } | undefined> {
    const d = await this.m.User.findOne({ key }).lean();
    return d ? { user: toUser(d), ...(d.passwordHash ? { hash: d.passwordHash } : {}) } : undefined;
  }

  async list(): Promise<User[]> {
    return (await this.m.User.find().sort({ createdAt: 1 }).lean()).map(toUser);
  }

  async upsertCourse(key: string, title: string): Promise<Course> {
    const d = await this.m.Course.findOneAndUpdate(
      { key },
      { $set: { title }, $setOnInsert: { key, createdAt: new Date() } },
      { upsert: true, returnDocument: 'after' },
    ).lean();
    return { id: d!._id.toString(), key: d!.key, title: d!.title };
  }

  async getCourse(id: string): Promise<Course | undefined> {
    if (!isObjectId(id)) return undefined;
    const d = await this.m.Course.findById(id).lean();
    return d ? { id: d._id.toString(), key: d.key, title: d.title } : undefined;
  }

  async listCourses(): Promise<Course[]> {
    return (await this.m.Course.find().sort({ title: 1 }).lean()).map((d) => ({
      id: d._id.toString(),
      key: d.key,
      title: d.title,
    }));
  }

  async setMembership(courseId: string, userId: string, role: CourseRole): Promise<void> {
    await this.m.Membership.updateOne(
      { courseId, userId },
      { $set: { role, updatedAt: new Date() } },
      { upsert: true },
    );
    this.roles.delete(userId);
  }

  async memberships(userId: string): Promise<Membership[]> {
    const cached = this.roles.get(userId);
    if (cached) return cached.map((m) => ({ ...m }));
    const docs = await this.m.Membership.find({ userId }).lean();
    const found = docs.map((d) => ({ courseId: d.courseId.toString(), role: d.role as CourseRole }));
    this.roles.set(userId, found);
    return found.map((m) => ({ ...m }));
  }

  async members(courseId: string): Promise<Array<{ userId: string; role: CourseRole }>> {
    const docs = await this.m.Membership.find({ courseId }).lean();
    return docs.map((d) => ({ userId: d.userId.toString(), role: d.role as CourseRole }));
  }
}
