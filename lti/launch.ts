/**
 * @file What a verified resource-link launch does: (issuer, sub) → user,
 * context → course, roles → instructor or learner membership, resource link
 * → assignment → lab (custom parameter `lab`, set by deep linking), then
 * start or resume a learner's instance and send the browser to its workspace
 * page (an instructor to the assignment's progress page, where they open
 * their own instance when they want one) with a one-time launch code
 * (seconds, single use) that the page trades for a browser session token
 * (POST /lti/session): no cookie is needed, in the LMS iframe or in a new
 * window.
 */
import { randomBytes } from 'node:crypto';
import { principalOf } from '../server/api/auth.js';
import type { InstanceState } from '../server/domain/instance/state.js';
import { HttpError } from '../server/errors.js';
import { hashToken } from '../server/secrets.js';
import type { InstanceLifecycle } from '../server/services/instances.js';
import type { InstanceRecord } from '../server/store/instances.js';
import type { Store } from '../server/store/store.js';
import type { User } from '../server/store/users.js';
import {
  assignmentKey,
  CLAIM,
  type CourseRole,
  courseKey,
  courseRole,
  displayName,
  type IdTokenPayload,
  LaunchRefused,
  userKey,
} from './claims.js';

const RESUMABLE: InstanceState[] = ['requested', 'provisioning', 'running', 'paused'];

export interface LaunchDeps {
  store: Store;
  lifecycle: InstanceLifecycle;
  publicUrl: string;
  /** Lifetime of a launch code (seconds). */
  launchCodeSeconds: number;
}

export interface LaunchMember {
  user: User;
  courseId: string;
  role: CourseRole;
}

/** Records the user, the course and the membership of any verified launch. */
export async function recordMember(store: Store, clientId: string, p: IdTokenPayload): Promise<LaunchMember> {
  if (!p.sub) throw new LaunchRefused(400, 'anonymous_launch', 'this launch carries no user (sub); the tool needs one');
  const context = p[CLAIM.context] as { id?: string; title?: string; label?: string } | undefined;
  if (!context?.id) {
    throw new LaunchRefused(400, 'no_context', 'this launch carries no course (context claim); launch from a course');
  }
  const email = typeof p.email === 'string' ? p.email : undefined;
  const user = await store.users.upsert(userKey(p.iss, p.sub), {
    name: displayName(p, p.sub),
    ...(email ? { email } : {}),
  });
  const course = await store.users.upsertCourse(
    courseKey(p.iss, context.id),
    context.title ?? context.label ?? context.id,
  );
  const role = courseRole(p[CLAIM.roles] as string[] | undefined);
  await store.users.setMembership(course.id, user.id, role);
  const nrps = p[CLAIM.nrps] as { context_memberships_url?: string } | undefined;
  const ags = p[CLAIM.ags] as { lineitems?: string } | undefined;
  await store.platforms.saveCourseServices({
    courseId: course.id,
    issuer: p.iss,
    clientId,
    deploymentId: String(p[CLAIM.deploymentId]),
    ...(nrps?.context_memberships_url ? { membershipsUrl: nrps.context_memberships_url } : {}),
    ...(ags?.lineitems ? { lineItemsUrl: ags.lineitems } : {}),
  });
  return { user, courseId: course.id, role };
}

/** Handles a verified LtiResourceLinkRequest; returns where to send the browser. */
export async function resourceLinkLaunch(deps: LaunchDeps, clientId: string, p: IdTokenPayload): Promise<string> {
  const { store, lifecycle } = deps;
  const member = await recordMember(store, clientId, p);
  const link = p[CLAIM.resourceLink] as { id: string; title?: string };
  const custom = (p[CLAIM.custom] ?? {}) as Record<string, unknown>;
  const ags = p[CLAIM.ags] as { lineitem?: string } | undefined;
  const key = assignmentKey(p.iss, link.id);
  const known = await store.assignments.byKey(key);
  const labName = typeof custom.lab === 'string' && custom.lab !== '' ? custom.lab : known?.labName;
  if (!labName) {
    throw new LaunchRefused(
      400,
      'no_lab',
      'this activity is not bound to a lab (custom parameter "lab"); the instructor picks one by adding the activity with deep linking',
    );
  }
  if (!(await store.labs.get(labName))) {
    throw new LaunchRefused(
      404,
      'unknown_lab',
      `this activity asks for lab "${labName}", which this tool does not have`,
    );
  }
  const assignment = await store.assignments.upsert(key, {
    courseId: member.courseId,
    title: link.title ?? labName,
    labName,
    lineItemUrl: ags?.lineitem,
    issuer: p.iss,
    clientId,
    deploymentId: String(p[CLAIM.deploymentId]),
  });
  if (member.role === 'instructor') {
    // Instructors come to see their learners; their own instance starts from that page when they ask for it.
    const code = await issueLaunchCode(store, member.user.id, undefined, deps.launchCodeSeconds);
    const page = `/courses/${encodeURIComponent(member.courseId)}/progress`;
    return `${deps.publicUrl}${page}?assignment=${encodeURIComponent(assignment.id)}&session=${encodeURIComponent(code)}`;
  }
  const instance = await startOrResume(store, lifecycle, member.user, labName, member.courseId, assignment.id);
  const code = await issueLaunchCode(store, member.user.id, instance.id, deps.launchCodeSeconds);
  return `${deps.publicUrl}/instances/${encodeURIComponent(instance.id)}?session=${encodeURIComponent(code)}`;
}

/** The user's active instance of the lab (this assignment's first), resumed if paused; else a new one. */
export async function startOrResume(
  store: Store,
  lifecycle: InstanceLifecycle,
  user: User,
  labName: string,
  courseId: string,
  assignmentId: string,
): Promise<InstanceRecord> {
  const principal = await principalOf(store, user);
  const active = await store.instances.list({ ownerId: user.id, labName, states: RESUMABLE });
  const mine = active.find((i) => i.assignmentId === assignmentId) ?? active[0];
  try {
    if (mine) return mine.state === 'paused' ? await lifecycle.act(principal, mine.id, 'resume') : mine;
    return await lifecycle.create(principal, { lab: labName, courseId, assignmentId });
  } catch (err) {
    if (err instanceof HttpError) throw new LaunchRefused(err.status, 'instance_unavailable', err.message);
    throw err;
  }
}

/** A one-time code for the workspace page (or, without an instance, the instructor's progress page); only its hash is stored. */
export async function issueLaunchCode(store: Store, userId: string, instanceId: string | undefined, seconds: number) {
  const code = randomBytes(24).toString('base64url');
  await store.platforms.saveLaunchCode({
    hash: hashToken(code),
    userId,
    ...(instanceId === undefined ? {} : { instanceId }),
    expiresAt: new Date(Date.now() + seconds * 1000),
  });
  return code;
}
