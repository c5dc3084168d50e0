/**
 * @file The instructor's progress table: learners × steps of a course or a
 * lab, with the instance state, last activity and score; as JSON or CSV.
 * Instructors see their courses' instances, admins all; learners are refused.
 */
import { z } from 'zod';
import { instructedCourses, instructsCourse, isAdmin, type Principal } from '../domain/access.js';
import { computeProgress } from '../domain/tutorial/progress.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import type { TutorialService } from '../services/tutorials.js';
import type { InstanceRecord } from '../store/instances.js';
import type { Store } from '../store/store.js';
import type { ApiRouter } from './routes.js';

const query = z.object({
  course: z.string().min(1).optional(),
  /** An LMS assignment (resource link): its course's instructors see its learners. */
  assignment: z.string().min(1).optional(),
  lab: z.string().min(1).optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

export interface ProgressColumn {
  lab: string;
  id: string;
  page: string;
}

export interface ProgressRow {
  learner: { id: string; name: string };
  instanceId: string;
  lab: string;
  labVersion: number;
  courseId?: string;
  state: InstanceRecord['state'];
  lastActivityAt: string;
  score: number;
  stepsDone: number;
  stepsTotal: number;
  /** Done or not, by step id. */
  steps: Record<string, boolean>;
}

export function progressRoutes(api: ApiRouter, store: Store, tutorials: TutorialService): void {
  api.route(
    {
      method: 'get',
      path: '/progress',
      tag: 'tutorials',
      summary:
        'Progress table of a course, an assignment or a lab (instructors of the course, admins): learners × steps, state, last activity, score; format=csv for a spreadsheet',
      query,
    },
    async ({ principal, query: q, res }) => {
      let course = q.course;
      if (q.assignment !== undefined) {
        const assignment = await store.assignments.get(q.assignment).catch(() => undefined);
        if (!assignment || (course !== undefined && course !== assignment.courseId))
          throw notFound(`assignment ${q.assignment}`);
        course = assignment.courseId;
      }
      const visible = await visibleInstances(store, principal, course, q.lab);
      const instances = q.assignment === undefined ? visible : visible.filter((i) => i.assignmentId === q.assignment);
      const table = await progressTable(store, tutorials, instances);
      if (q.format === 'json') return table;
      res
        .type('text/csv; charset=utf-8')
        .attachment(`progress-${q.assignment ?? q.course ?? q.lab}.csv`)
        .send(toCsv(table.columns, table.rows));
      return undefined;
    },
  );
}

async function visibleInstances(
  store: Store,
  p: Principal,
  course: string | undefined,
  lab: string | undefined,
): Promise<InstanceRecord[]> {
  if (course === undefined && lab === undefined)
    throw badRequest('query: give "course" (an id), "assignment" (an id) or "lab" (a name)');
  const labFilter = lab === undefined ? {} : { labName: lab };
  if (isAdmin(p)) {
    const all = await store.instances.list(labFilter);
    return course === undefined ? all : all.filter((i) => i.courseId === course);
  }
  const courses = course === undefined ? instructedCourses(p) : instructsCourse(p, course) ? [course] : [];
  if (courses.length === 0)
    throw forbidden('the progress table is for the instructors of a course (and admins); you instruct no such course');
  const list = await store.instances.list({ ...labFilter, courseIds: courses });
  return list.filter((i) => i.courseId !== undefined && courses.includes(i.courseId));
}

async function progressTable(store: Store, tutorials: TutorialService, instances: InstanceRecord[]) {
  const records = new Map((await store.progress.ofInstances(instances.map((i) => i.id))).map((r) => [r.instanceId, r]));
  const columns: ProgressColumn[] = [];
  const seen = new Set<string>();
  const names = new Map<string, string>();
  const rows: ProgressRow[] = [];
  // Oldest first, so columns follow the lab's order and rows the order learners started.
  for (const instance of [...instances].reverse()) {
    const lab = (await tutorials.labVersion(instance)).definition;
    for (const page of lab.tutorial.pages) {
      for (const step of page.steps) {
        const key = `${lab.name}\u0000${step.id}`;
        if (!seen.has(key)) columns.push({ lab: lab.name, id: step.id, page: page.title });
        seen.add(key);
      }
    }
    const states = records.get(instance.id)?.steps ?? {};
    const progress = computeProgress(lab.tutorial, states);
    if (!names.has(instance.ownerId))
      names.set(instance.ownerId, (await store.users.get(instance.ownerId))?.name ?? '');
    const updated = records.get(instance.id)?.updatedAt;
    const last = updated && updated > instance.lastActivityAt ? updated : instance.lastActivityAt;
    rows.push({
      learner: { id: instance.ownerId, name: names.get(instance.ownerId)! },
      instanceId: instance.id,
      lab: instance.labName,
      labVersion: instance.labVersion,
      ...(instance.courseId && { courseId: instance.courseId }),
      state: instance.state,
      lastActivityAt: new Date(last).toISOString(),
      score: progress.score,
      stepsDone: progress.stepsDone,
      stepsTotal: progress.stepsTotal,
      steps: Object.fromEntries(
        lab.tutorial.pages.flatMap((page) =>
          page.steps.map((s) => [s.id, Object.hasOwn(states, s.id) && states[s.id]!.done]),
        ),
      ),
    });
  }
  return { columns, rows };
}

/** A spreadsheet cell: quoted, and never a formula (a learner's name could start with "="). */
function cell(value: string | number): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r']/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: ProgressColumn[], rows: ProgressRow[]): string {
  const multiLab = new Set(columns.map((c) => c.lab)).size > 1;
  const header = [
    'learner',
    'learner_id',
    'instance',
    'lab',
    'version',
    'state',
    'last_activity',
    'score',
    'steps_done',
    'steps_total',
    ...columns.map((c) => (multiLab ? `${c.lab}/${c.id}` : c.id)),
  ];
  const lines = rows.map((r) => [
    r.learner.name,
    r.learner.id,
    r.instanceId,
    r.lab,
    r.labVersion,
    r.state,
    r.lastActivityAt,
    Math.round(r.score * 10000) / 10000,
    r.stepsDone,
    r.stepsTotal,
    ...columns.map((c) => (c.lab !== r.lab ? '' : r.steps[c.id] ? 1 : 0)),
  ]);
  return `${[header, ...lines].map((line) => line.map(cell).join(',')).join('\r\n')}\r\n`;
}
