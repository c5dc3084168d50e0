/**
 * @file What the instructor's progress page reads and does over HTTP: the
 * course, the progress rows, the LMS roster (under /lti, not /api/v1), the
 * step texts of the labs, the CSV download and the instructor's own
 * instance. The session is a Bearer token in sessionStorage, not a cookie,
 * so even the CSV is fetched and handed to the browser as a blob.
 */
import { ApiError, api, type Instance, type LabDefinition } from '../api.js';
import { currentSession, forgetSession } from '../session.js';
import { type ProgressAnswer, type RosterMember, stepTitlesOf } from './progress-table.js';

export interface CourseAssignment {
  id: string;
  title: string;
  lab: string;
}

export interface CourseView {
  id: string;
  title: string;
  role?: 'instructor' | 'learner';
  /** Came from an LMS launch: it has a roster (NRPS). */
  lms: boolean;
  assignments: CourseAssignment[];
}

/** Where the progress rows come from: a whole course or one assignment of it. */
export interface ProgressScope {
  courseId: string;
  assignmentId?: string;
}

const progressQuery = (scope: ProgressScope, format?: 'csv') => {
  const q = new URLSearchParams({ course: scope.courseId });
  if (scope.assignmentId) q.set('assignment', scope.assignmentId);
  if (format) q.set('format', format);
  return `/progress?${q}`;
};

export const loadCourse = (courseId: string) => api<CourseView>('GET', `/courses/${encodeURIComponent(courseId)}`);

export const loadMyCourses = () => api<CourseView[]>('GET', '/courses?mine=1');

export const loadProgress = (scope: ProgressScope) => api<ProgressAnswer>('GET', progressQuery(scope));

/** A GET with the session's token on any path of the server (the API helper serves /api/v1 only). */
async function authorized(path: string): Promise<Response> {
  const token = currentSession()?.token;
  let res: Response;
  try {
    res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch {
    throw new ApiError(0, 'the server cannot be reached: check your connection');
  }
  if (res.ok) return res;
  const data = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  if (res.status === 401 && token) {
    forgetSession();
    window.dispatchEvent(new Event('signed-out'));
  }
  throw new ApiError(res.status, data?.error?.message ?? `the server answered ${res.status}`);
}

export async function loadRoster(courseId: string): Promise<RosterMember[]> {
  const res = await authorized(`/lti/courses/${encodeURIComponent(courseId)}/roster`);
  return ((await res.json()) as { members: RosterMember[] }).members;
}

/** The step texts of these labs (latest versions); a lab that cannot be read keeps its step ids as heads. */
export async function loadStepTitles(labs: string[]): Promise<Map<string, string>> {
  const titles = new Map<string, string>();
  const read = await Promise.all(
    labs.map((lab) =>
      api<{ definition: LabDefinition & Parameters<typeof stepTitlesOf>[0] }>(
        'GET',
        `/labs/${encodeURIComponent(lab)}`,
      ).catch(() => undefined),
    ),
  );
  for (const answer of read) if (answer) for (const [k, v] of stepTitlesOf(answer.definition)) titles.set(k, v);
  return titles;
}

/** Fetches the CSV with the session's token and saves it under the server's file name. */
export async function downloadCsv(scope: ProgressScope): Promise<void> {
  const res = await authorized(`/api/v1${progressQuery(scope, 'csv')}`);
  const name =
    /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') ?? '')?.[1] ??
    `progress-${scope.assignmentId ?? scope.courseId}.csv`;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has taken the blob once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const ACTIVE: Instance['state'][] = ['requested', 'provisioning', 'running', 'paused'];

/** The caller's own active instance of the lab, or a new one (the instance page resumes a paused one). */
export async function ownInstance(lab: string): Promise<Instance> {
  const me = currentSession()?.user.id;
  const mine = (await api<Instance[]>('GET', `/instances?lab=${encodeURIComponent(lab)}`)).find(
    (i) => i.ownerId === me && ACTIVE.includes(i.state),
  );
  return mine ?? api<Instance>('POST', '/instances', { lab });
}
