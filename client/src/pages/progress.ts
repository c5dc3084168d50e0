/**
 * @file The instructor's progress page (`/courses/:id/progress`, optionally
 * `?assignment=ID`): learners × steps of the course or of one assignment,
 * with the LMS roster's learners who have not started yet in the same
 * table; a CSV download, a refresh every 10 s while the page is visible,
 * and the instructor's own instance one click away.
 */
import './progress.css';
import { ApiError, errorMessage } from '../api.js';
import { clear, h } from '../dom.js';
import { link, navigate } from '../router.js';
import {
  type CourseView,
  downloadCsv,
  loadCourse,
  loadProgress,
  loadRoster,
  loadStepTitles,
  ownInstance,
  type ProgressScope,
} from './progress-data.js';
import { buildProgressTable, type ProgressTable, percent, type RosterMember, type TableRow } from './progress-table.js';
import { stateLabel } from './state-text.js';

const REFRESH_MS = 10_000;
/** The roster comes from the LMS: asked again at most this often by the timer (the button always asks). */
const ROSTER_MS = 60_000;

export function progressPage(root: HTMLElement, courseId: string, assignmentId: string | undefined): () => void {
  const scope: ProgressScope = { courseId, ...(assignmentId ? { assignmentId } : {}) };
  const title = h('h1', {}, 'Progress');
  const subtitle = h('p.muted', {});
  const choices = h('nav.assignment-choice', {});
  const error = h('p.error', { role: 'alert', 'data-testid': 'progress-error' });
  const note = h('p.note', { 'data-testid': 'roster-note', hidden: true });
  const summary = h('p.muted', { 'data-testid': 'progress-summary' });
  const updated = h('span.muted.updated', { 'data-testid': 'progress-updated' });
  const tableHost = h('div.progress-table-host', {});
  const ownButton = h(
    'button.primary',
    { type: 'button', 'data-action': 'own-instance', hidden: true },
    'Open my own lab instance',
  );
  const csvButton = h('button', { type: 'button', 'data-action': 'csv' }, 'Download CSV');
  const refreshButton = h('button', { type: 'button', 'data-action': 'refresh' }, 'Refresh');
  clear(
    root,
    h(
      'main.progress-page',
      {},
      h('div.progress-head', {}, h('div', {}, title, subtitle), h('div.actions', {}, ownButton, csvButton)),
      choices,
      error,
      note,
      h('div.progress-bar-line', {}, summary, h('span', {}, updated, ' ', refreshButton)),
      tableHost,
    ),
  );

  let course: CourseView | undefined;
  let titles = new Map<string, string>();
  let stopped = false;
  let refusedForGood = false;
  let busy = false;
  let rosterRead: { at: number; list: RosterMember[] | undefined } | undefined;

  ownButton.addEventListener('click', async () => {
    const lab = course?.assignments.find((a) => a.id === assignmentId)?.lab;
    if (!lab) return;
    ownButton.disabled = true;
    try {
      navigate(`/instances/${(await ownInstance(lab)).id}`);
    } catch (err) {
      error.textContent = errorMessage(err);
      ownButton.disabled = false;
    }
  });
  csvButton.addEventListener('click', async () => {
    csvButton.disabled = true;
    try {
      await downloadCsv(scope);
    } catch (err) {
      error.textContent = failure(err);
    } finally {
      csvButton.disabled = false;
    }
  });
  refreshButton.addEventListener('click', () => void refresh(true));

  function showCourse(c: CourseView) {
    course = c;
    const assignment = c.assignments.find((a) => a.id === assignmentId);
    title.textContent = `Progress — ${c.title}`;
    subtitle.textContent = assignment
      ? `Assignment “${assignment.title}” (lab ${assignment.lab})`
      : `All assignments and labs of the course`;
    ownButton.hidden = !assignment;
    const base = `/courses/${encodeURIComponent(c.id)}/progress`;
    clear(
      choices,
      ...(c.assignments.length > 0
        ? [
            h('a', { href: base, onclick: linkWithQuery(base), 'aria-current': !assignmentId && 'page' }, 'All'),
            ...c.assignments.map((a) => {
              const to = `${base}?assignment=${encodeURIComponent(a.id)}`;
              return h(
                'a',
                { href: to, onclick: linkWithQuery(to), 'aria-current': a.id === assignmentId && 'page' },
                a.title,
              );
            }),
          ]
        : []),
    );
  }

  async function roster(c: CourseView): Promise<RosterMember[] | undefined> {
    if (!c.lms) {
      showNote('This course is not from an LMS, so there is no roster: only learners who started a lab are listed.');
      return undefined;
    }
    try {
      const members = await loadRoster(c.id);
      showNote(undefined);
      return members;
    } catch (err) {
      showNote(`No roster: ${errorMessage(err)}. Only learners who started a lab are listed.`);
      return undefined;
    }
  }

  function showNote(text: string | undefined) {
    note.hidden = text === undefined;
    note.textContent = text ?? '';
  }

  async function refresh(fresh = false) {
    // One at a time: a slow LMS must not pile the timer's refreshes up.
    if (stopped || refusedForGood || busy) return;
    busy = true;
    refreshButton.disabled = true;
    try {
      if (!course) showCourse(await loadCourse(courseId));
      const c = course!;
      if (assignmentId && !c.assignments.some((a) => a.id === assignmentId))
        throw new ApiError(404, 'this assignment is not one of the course’s');
      const rosterDue = fresh || !rosterRead || Date.now() - rosterRead.at > ROSTER_MS;
      const [progress, list] = await Promise.all([
        loadProgress(scope),
        rosterDue ? roster(c) : Promise.resolve(rosterRead!.list),
      ]);
      if (rosterDue) rosterRead = { at: Date.now(), list };
      const labs = [...new Set(progress.columns.map((col) => col.lab))].filter(
        (lab) => ![...titles.keys()].some((k) => k.startsWith(`${lab}\u0000`)),
      );
      if (labs.length) titles = new Map([...titles, ...(await loadStepTitles(labs))]);
      if (stopped) return;
      render(buildProgressTable(progress, list, titles), list !== undefined);
      error.textContent = '';
      updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (stopped) return;
      error.textContent = failure(err);
      if (err instanceof ApiError && (err.status === 403 || err.status === 404)) {
        refusedForGood = true;
        clear(tableHost);
        summary.textContent = '';
        csvButton.hidden = true;
        ownButton.hidden = true;
        refreshButton.hidden = true;
      }
    } finally {
      busy = false;
      refreshButton.disabled = false;
    }
  }

  function render(table: ProgressTable, withRoster: boolean) {
    const waiting = withRoster ? `, ${table.notStarted} not started yet` : '';
    summary.textContent = `${table.started} started${waiting}`;
    if (table.rows.length === 0) {
      clear(
        tableHost,
        h(
          'p.empty',
          { 'data-testid': 'progress-empty' },
          withRoster
            ? 'No learners in the roster yet.'
            : 'No learner has started a lab here yet. Their rows appear as soon as they do.',
        ),
      );
      return;
    }
    clear(tableHost, tableOf(table));
  }

  const onVisible = () => {
    if (document.visibilityState === 'visible') void refresh();
  };
  document.addEventListener('visibilitychange', onVisible);
  const timer = window.setInterval(() => {
    if (document.visibilityState === 'visible') void refresh();
  }, REFRESH_MS);
  void refresh();
  return () => {
    stopped = true;
    window.clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

/** Like the router's link, but a change of the query alone (another assignment, or all) is a new page too. */
function linkWithQuery(to: string) {
  return (event: Event) => {
    event.preventDefault();
    if (`${location.pathname}${location.search}` !== to) history.pushState(null, '', to);
    window.dispatchEvent(new Event('route'));
  };
}

function failure(err: unknown): string {
  if (err instanceof ApiError && err.status === 403)
    return 'Only the course instructors see this page: ask one of them, or an administrator, if you need access.';
  if (err instanceof ApiError && err.status === 404) return `Not found: ${err.message}.`;
  return errorMessage(err);
}

function tableOf(table: ProgressTable): HTMLElement {
  const multiLab = new Set(table.groups.map((g) => g.lab)).size > 1;
  const head1 = h(
    'tr',
    {},
    h('th.learner', { rowspan: 2, scope: 'col' }, 'Learner'),
    h('th', { rowspan: 2, scope: 'col' }, 'Lab state'),
    ...table.groups.map((g) =>
      h('th.page', { colspan: g.steps.length, scope: 'colgroup' }, multiLab ? `${g.lab}: ${g.page}` : g.page),
    ),
    h('th.num', { rowspan: 2, scope: 'col' }, 'Score'),
    h('th', { rowspan: 2, scope: 'col' }, 'Last activity'),
  );
  const head2 = h(
    'tr',
    {},
    ...table.groups.flatMap((g) =>
      g.steps.map((s, n) =>
        h(
          `th.step${n === 0 ? '.page-start' : ''}`,
          { scope: 'col', title: s.title, 'data-step': s.id },
          h('span', {}, s.title),
        ),
      ),
    ),
  );
  const starts = new Set<number>();
  let at = 0;
  for (const g of table.groups) {
    starts.add(at);
    at += g.steps.length;
  }
  return h(
    'div.progress-scroll',
    {},
    h(
      'table.progress-table',
      { 'data-testid': 'progress-table' },
      h('thead', {}, head1, head2),
      h('tbody', {}, ...table.rows.map((r) => rowOf(r, table, starts))),
    ),
  );
}

function rowOf(r: TableRow, table: ProgressTable, starts: Set<number>): HTMLElement {
  const heads = table.groups.flatMap((g) => g.steps);
  return h(
    `tr${r.state === 'not started' ? '.not-started' : ''}`,
    { 'data-learner': r.learner, 'data-state': r.state, ...(r.instanceId ? { 'data-instance': r.instanceId } : {}) },
    h(
      'th.learner',
      { scope: 'row' },
      // Instructors may look into a learner's lab (the workspace lets them, as DESIGN.md says).
      r.instanceId
        ? h(
            'a',
            {
              href: `/instances/${r.instanceId}`,
              onclick: link(`/instances/${r.instanceId}`),
              title: `Open ${r.learner}’s lab`,
            },
            r.learner,
          )
        : r.learner,
    ),
    h(
      'td',
      {},
      r.state === 'not started'
        ? h('span.state.state-not-started', {}, 'not started')
        : h(`span.state.state-${r.state}`, {}, stateLabel(r.state)),
    ),
    ...r.steps.map((done, n) =>
      h(
        `td.mark${starts.has(n) ? '.page-start' : ''}`,
        {
          'data-step': heads[n]!.id,
          ...(done === undefined ? {} : { 'data-done': String(done) }),
          title: done === undefined ? '' : `${heads[n]!.title}: ${done ? 'done' : 'not done'}`,
        },
        done === undefined
          ? ''
          : done
            ? h('span.done', { 'aria-label': 'done' }, '✓')
            : h('span.todo', { 'aria-label': 'not done' }, '·'),
      ),
    ),
    h(
      'td.num',
      { 'data-testid': 'score' },
      r.score === undefined ? '' : h('span', { title: `${r.stepsDone} of ${r.stepsTotal} steps` }, percent(r.score)),
    ),
    h(
      'td.when',
      {},
      r.lastActivityAt
        ? h('time', { datetime: r.lastActivityAt }, new Date(r.lastActivityAt).toLocaleString())
        : h('span.muted', {}, '—'),
    ),
  );
}
