/**
 * @file The administrators' capacity page (`/admin/capacity`): what runs,
 * pauses, starts and waits against the server's quotas, the usage of each
 * course with a button that stops everything of one course, the warm pools
 * and how full they are, and which server process leads each job. It reads
 * GET /admin/capacity, /admin/courses and /pools, and refreshes every 5 s
 * while the tab is visible (the start of a session is when it is watched).
 */
import './capacity.css';
import { ApiError, api, errorMessage } from '../api.js';
import { clear, h } from '../dom.js';
import { bytes, cores, holderText, type Share, share } from './capacity-text.js';

const REFRESH_MS = 5000;

type Counts = Partial<Record<'requested' | 'provisioning' | 'running' | 'paused' | 'stopping', number>>;
interface Amount {
  used: number;
  limit: number;
}
interface Capacity {
  states: Counts;
  queued: number;
  instances: Amount;
  cpu: Amount;
  memory: Amount;
  perCourseLimit: number;
  queueMax: number;
  leases: Array<{ job: string; holder: string; expiresAt: string }>;
}
interface CourseUsage {
  courseId: string;
  title?: string;
  states: Counts;
  cpu: number;
  memory: number;
}
interface PoolView {
  assignment: string;
  course: string;
  lab: string;
  size: number;
  until: string;
  ready: number;
  starting: number;
  failures: number;
  lastError?: string;
}

export function capacityPage(root: HTMLElement): () => void {
  const error = h('p.error', { role: 'alert', 'data-testid': 'capacity-error' });
  const notice = h('p.note', { 'data-testid': 'capacity-notice', hidden: true });
  const updated = h('span.muted.updated', { 'data-testid': 'capacity-updated' });
  const refreshButton = h('button', { type: 'button', 'data-action': 'refresh' }, 'Refresh');
  const meters = h('div.meters', { 'data-testid': 'meters' });
  const states = h('p.muted', { 'data-testid': 'states' });
  const courses = h('div.table-host', { 'data-testid': 'courses' });
  const pools = h('div.table-host', { 'data-testid': 'pools' });
  const jobs = h('ul.rows', { 'data-testid': 'jobs' });
  const body = h(
    'div',
    {},
    meters,
    states,
    h('section', {}, h('h2', {}, 'Courses'), courses),
    h('section', {}, h('h2', {}, 'Warm pools'), pools),
    h('section', {}, h('h2', {}, 'Jobs'), jobs),
  );
  clear(
    root,
    h(
      'main.capacity-page',
      {},
      h('div.capacity-head', {}, h('h1', {}, 'Capacity'), h('span', {}, updated, ' ', refreshButton)),
      error,
      notice,
      body,
    ),
  );

  let stopped = false;
  let refused = false;
  let busy = false;
  refreshButton.addEventListener('click', () => void refresh());

  async function refresh() {
    if (stopped || refused || busy) return;
    busy = true;
    refreshButton.disabled = true;
    try {
      const [capacity, usage, poolList] = await Promise.all([
        api<Capacity>('GET', '/admin/capacity'),
        api<CourseUsage[]>('GET', '/admin/courses'),
        api<PoolView[]>('GET', '/pools').catch(() => [] as PoolView[]), // a server without a runtime has no pools
      ]);
      if (stopped) return;
      render(capacity, usage, poolList);
      error.textContent = '';
      updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (stopped) return;
      error.textContent = errorMessage(err);
      if (err instanceof ApiError && err.status === 403) {
        refused = true;
        body.hidden = true;
        refreshButton.hidden = true;
      }
    } finally {
      busy = false;
      refreshButton.disabled = false;
    }
  }

  function render(capacity: Capacity, usage: CourseUsage[], poolList: PoolView[]) {
    const waiting = share(capacity.queued, capacity.queueMax);
    clear(
      meters,
      meter('Instances', share(capacity.instances.used, capacity.instances.limit), 'instances'),
      meter('CPU', share(capacity.cpu.used, capacity.cpu.limit, cores), 'cpu'),
      meter('Memory', share(capacity.memory.used, capacity.memory.limit, bytes), 'memory'),
      meter('Waiting in the queue', waiting, 'queue'),
    );
    const s = capacity.states;
    states.textContent =
      `${s.running ?? 0} running · ${s.paused ?? 0} paused · ${s.provisioning ?? 0} starting · ` +
      `${s.stopping ?? 0} stopping · ${capacity.queued} waiting` +
      (capacity.perCourseLimit > 0 ? ` · at most ${capacity.perCourseLimit} per course` : '');
    clear(courses, usage.length ? courseTable(usage) : h('p.muted', {}, 'No course has an active instance.'));
    const titles = new Map(usage.map((c) => [c.courseId, c.title ?? c.courseId]));
    clear(pools, poolList.length ? poolTable(poolList, titles) : h('p.muted', {}, 'No warm pools.'));
    clear(
      jobs,
      ...(capacity.leases.length
        ? capacity.leases.map((l) =>
            h(
              'li',
              { 'data-job': l.job },
              h('span.job', {}, l.job),
              h('span', {}, `led by ${holderText(l.holder)}`),
              h('span.muted', {}, `until ${new Date(l.expiresAt).toLocaleTimeString()}`),
            ),
          )
        : [h('li.muted', {}, 'No job has a leader: is the server running its jobs?')]),
    );
  }

  function courseTable(usage: CourseUsage[]): HTMLElement {
    return h(
      'table.capacity-table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Course', 'Running', 'Paused', 'Starting', 'Waiting', 'CPU', 'Memory', ''].map((t) => h('th', {}, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...usage.map((c) => {
          const name = c.title ?? c.courseId;
          const stop = h('button.danger.small', { type: 'button', 'data-action': 'stop-course' }, 'Stop all');
          stop.addEventListener('click', () => void stopCourse(c.courseId, name, stop));
          return h(
            'tr',
            { 'data-course': c.courseId },
            h('td', {}, name),
            h('td', { 'data-state': 'running' }, c.states.running ?? 0),
            h('td', { 'data-state': 'paused' }, c.states.paused ?? 0),
            h('td', { 'data-state': 'provisioning' }, c.states.provisioning ?? 0),
            h('td', { 'data-state': 'requested' }, c.states.requested ?? 0),
            h('td', {}, cores(c.cpu)),
            h('td', {}, bytes(c.memory)),
            h('td', {}, stop),
          );
        }),
      ),
    );
  }

  async function stopCourse(courseId: string, name: string, button: HTMLButtonElement) {
    // Learners lose their running labs (their progress stays): ask first.
    if (!window.confirm(`Stop every lab of “${name}”? Learners lose their running labs; their progress is kept.`))
      return;
    button.disabled = true;
    try {
      const { stopping } = await api<{ stopping: string[] }>(
        'POST',
        `/admin/courses/${encodeURIComponent(courseId)}/stop`,
      );
      notice.hidden = false;
      notice.textContent = `Stopping ${stopping.length} instance${stopping.length === 1 ? '' : 's'} of “${name}”.`;
      await refresh();
    } catch (err) {
      error.textContent = errorMessage(err);
      button.disabled = false;
    }
  }

  const onVisible = () => {
    if (document.visibilityState === 'visible') void refresh();
  };
  document.addEventListener('visibilitychange', onVisible);
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') void refresh();
  }, REFRESH_MS);
  void refresh();
  return () => {
    stopped = true;
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

function meter(label: string, s: Share, key: string): HTMLElement {
  const bar = h('div.bar', {}, h('div.fill', { style: `width: ${((s.ratio ?? 0) * 100).toFixed(1)}%` }));
  return h(
    `div.meter${s.tight ? '.tight' : ''}`,
    { 'data-meter': key },
    h('div.label', {}, label),
    h('div.value', {}, s.text),
    s.ratio === undefined ? null : bar,
  );
}

function poolTable(list: PoolView[], courseTitles: Map<string, string>): HTMLElement {
  return h(
    'table.capacity-table',
    {},
    h(
      'thead',
      {},
      h('tr', {}, ...['Lab', 'Course', 'Ready', 'Starting', 'Until', 'Failures'].map((t) => h('th', {}, t))),
    ),
    h(
      'tbody',
      {},
      ...list.map((p) =>
        h(
          'tr',
          { 'data-pool': p.assignment },
          h('td', {}, p.lab),
          h('td', {}, courseTitles.get(p.course) ?? p.course),
          h('td', { 'data-field': 'ready' }, `${p.ready} of ${p.size}`),
          h('td', {}, p.starting),
          h('td', {}, new Date(p.until).toLocaleString()),
          h('td', { title: p.lastError ?? '' }, p.failures ? `${p.failures}: ${p.lastError ?? ''}` : '0'),
        ),
      ),
    ),
  );
}
