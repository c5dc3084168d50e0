/**
 * @file The instructor's progress view data: the course roster from the
 * LMS (NRPS) joined with each member's instance state and score here, so an
 * instructor also sees who has not started yet.
 */
import type { Store } from '../server/store/store.js';
import { courseRole, userKey } from './claims.js';
import type { PlatformServices } from './services.js';

export interface RosterEntry {
  /** LMS subject. */
  userId: string;
  name?: string;
  email?: string;
  status: string;
  role: 'instructor' | 'learner';
  roles: string[];
  /** Our user, when they launched at least once. */
  user?: { id: string };
  instance?: { id: string; state: string; labName: string };
  /** Latest score per assignment of the course (scoreGiven / scoreMaximum). */
  scores: Array<{ assignmentId: string; scoreGiven: number; scoreMaximum: number; delivered: boolean }>;
}

export async function courseRoster(store: Store, services: PlatformServices, courseId: string): Promise<RosterEntry[]> {
  const course = await store.platforms.courseServices(courseId);
  if (!course?.membershipsUrl) throw new Error('no roster service (NRPS) is known for this course yet');
  const members = await services.members(course.issuer, course.clientId, course.membershipsUrl);
  const assignments = await store.assignments.ofCourse(courseId);
  const rows = new Map<string, Awaited<ReturnType<Store['grades']['ofAssignment']>>>();
  for (const a of assignments) rows.set(a.id, await store.grades.ofAssignment(a.id));
  const entries: RosterEntry[] = [];
  for (const m of members) {
    const user = await store.users.byKey(userKey(course.issuer, m.user_id));
    const instances = user ? await store.instances.list({ ownerId: user.id }) : [];
    const instance = instances.find((i) => i.courseId === courseId);
    const name = m.name ?? ([m.given_name, m.family_name].filter(Boolean).join(' ') || undefined);
    entries.push({
      userId: m.user_id,
      ...(name ? { name } : {}),
      ...(m.email ? { email: m.email } : {}),
      status: m.status ?? 'Active',
      role: courseRole(m.roles),
      roles: m.roles,
      ...(user ? { user: { id: user.id } } : {}),
      ...(instance ? { instance: { id: instance.id, state: instance.state, labName: instance.labName } } : {}),
      scores: user
        ? assignments.flatMap((a) =>
            (rows.get(a.id) ?? [])
              .filter((r) => r.userId === user.id)
              .map((r) => ({
                assignmentId: a.id,
                scoreGiven: r.score.scoreGiven,
                scoreMaximum: r.score.scoreMaximum,
                delivered: !r.pending && r.sentSequence === r.sequence,
              })),
          )
        : [],
    });
  }
  return entries;
}
