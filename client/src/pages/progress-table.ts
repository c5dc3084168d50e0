/**
 * @file The instructor's progress table as data (pure, no DOM): the
 * server's learners × steps rows joined with the LMS roster (NRPS), so the
 * learners who have not started yet are in the same table, and the step
 * columns grouped by tutorial page with the steps' own words as heads.
 */
import type { InstanceState } from '../api.js';

/** One step column of GET /api/v1/progress. */
export interface ProgressColumn {
  lab: string;
  id: string;
  page: string;
}

/** One row (an instance) of GET /api/v1/progress. */
export interface ProgressRow {
  learner: { id: string; name: string };
  instanceId: string;
  lab: string;
  labVersion: number;
  state: InstanceState;
  lastActivityAt: string;
  score: number;
  stepsDone: number;
  stepsTotal: number;
  steps: Record<string, boolean>;
}

export interface ProgressAnswer {
  columns: ProgressColumn[];
  rows: ProgressRow[];
}

/** One member of GET /lti/courses/:id/roster (the fields this page reads). */
export interface RosterMember {
  userId: string;
  name?: string;
  email?: string;
  status: string;
  role: 'instructor' | 'learner';
  user?: { id: string };
}

export interface StepHead {
  key: string;
  lab: string;
  id: string;
  /** The step's text when the lab is known, else its id. */
  title: string;
}

export interface PageGroup {
  lab: string;
  page: string;
  steps: StepHead[];
}

export interface TableRow {
  key: string;
  learner: string;
  /** Our user id; none for a roster member who never launched. */
  userId?: string;
  instanceId?: string;
  state: InstanceState | 'not started';
  /** Per step column, in the order of the heads: done, not done, or not part of this row's lab. */
  steps: Array<boolean | undefined>;
  stepsDone?: number;
  stepsTotal?: number;
  score?: number;
  lastActivityAt?: string;
}

export interface ProgressTable {
  groups: PageGroup[];
  rows: TableRow[];
  /** Learners who started (rows with an instance). */
  started: number;
  /** Roster learners with no instance here. */
  notStarted: number;
}

const byName = (a: { learner: string }, b: { learner: string }) =>
  a.learner.localeCompare(b.learner, undefined, { sensitivity: 'base' });

/**
 * Builds the table. `stepTitles` maps `lab\0step` to the step's text;
 * `roster` is undefined when the course has no LMS roster. Rows with an
 * instance come first (by name), then the roster learners who have none.
 * Instructors and inactive members of the roster are not learners to wait for.
 */
export function buildProgressTable(
  progress: ProgressAnswer,
  roster: RosterMember[] | undefined,
  stepTitles: ReadonlyMap<string, string> = new Map(),
): ProgressTable {
  const groups: PageGroup[] = [];
  const heads: StepHead[] = [];
  for (const column of progress.columns) {
    const key = stepKey(column.lab, column.id);
    const head = { key, lab: column.lab, id: column.id, title: stepTitles.get(key) ?? column.id };
    heads.push(head);
    const last = groups.at(-1);
    if (last && last.lab === column.lab && last.page === column.page) last.steps.push(head);
    else groups.push({ lab: column.lab, page: column.page, steps: [head] });
  }

  const rows: TableRow[] = progress.rows
    .map((r) => ({
      key: r.instanceId,
      learner: r.learner.name || r.learner.id,
      userId: r.learner.id,
      instanceId: r.instanceId,
      state: r.state,
      steps: heads.map((h) => (h.lab === r.lab ? r.steps[h.id] === true : undefined)),
      stepsDone: r.stepsDone,
      stepsTotal: r.stepsTotal,
      score: r.score,
      lastActivityAt: r.lastActivityAt,
    }))
    .sort(byName);

  const startedUsers = new Set(progress.rows.map((r) => r.learner.id));
  const waiting: TableRow[] = (roster ?? [])
    .filter((m) => m.role === 'learner' && m.status.toLowerCase() === 'active')
    .filter((m) => !(m.user && startedUsers.has(m.user.id)))
    .map((m) => ({
      key: `roster:${m.userId}`,
      learner: m.name ?? m.email ?? m.userId,
      ...(m.user ? { userId: m.user.id } : {}),
      state: 'not started' as const,
      steps: heads.map(() => undefined),
    }))
    .sort(byName);

  return { groups, rows: [...rows, ...waiting], started: rows.length, notStarted: waiting.length };
}

export const stepKey = (lab: string, step: string) => `${lab}\u0000${step}`;

/** Step texts of a lab definition's tutorial (as plain text), keyed as the table wants them. */
export function stepTitlesOf(lab: {
  name: string;
  tutorial?: { pages: Array<{ steps?: Array<{ id: string; text: string }> }> };
}): Map<string, string> {
  const titles = new Map<string, string>();
  for (const page of lab.tutorial?.pages ?? [])
    for (const step of page.steps ?? []) titles.set(stepKey(lab.name, step.id), plainText(step.text));
  return titles;
}

/** A step's text without its inline markdown marks (code spans, emphasis): a column head is plain text. */
export const plainText = (markdown: string) =>
  markdown
    .replace(/`([^`]*)`/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim();

/** A score of 0–1 as a whole percentage. */
export const percent = (score: number) => `${Math.round(score * 100)} %`;
