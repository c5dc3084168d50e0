/**
 * @file Starting a launch: the platform sends the browser to the tool's OIDC
 * login initiation URL (LTI Core 1.3 §4.1, Security Framework §5.1.1.1) with
 * iss, login_hint, target_link_uri, lti_message_hint, client_id and
 * lti_deployment_id. The message hint names a record of what is being
 * launched, which the authorization endpoint reads back.
 */
import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import type { PlatformContext } from './context.js';
import { browserError } from './errors.js';
import { autoSubmitForm } from './html.js';
import type { Course, DocumentTarget, LaunchHint, Tool, User } from './model.js';
import { MESSAGE_TYPE, ROLE } from './vocabulary.js';

export function launchRouter(ctx: PlatformContext): Router {
  const router = Router();

  router.get('/launch', (req, res) => {
    const user = userOf(ctx, req);
    const link = ctx.store.resourceLinks.get(param(req, 'link'));
    if (!link) throw browserError(404, 'not_found', `resource link ${param(req, 'link')} not found`);
    const tool = launchableTool(ctx, link.clientId);
    const course = memberCourse(ctx, link.courseId, user);
    const hint: LaunchHint = {
      id: randomUUID(),
      clientId: tool.clientId,
      deploymentId: link.deploymentId,
      userId: user.id,
      courseId: course.id,
      messageType: MESSAGE_TYPE.resourceLink,
      resourceLinkId: link.id,
      targetLinkUri: link.url ?? tool.targetLinkUri,
      documentTarget: targetOf(req),
      expiresAt: Date.now() + ctx.options.launchHintLifetimeSeconds * 1000,
    };
    sendToLogin(ctx, res, tool, hint);
  });

  router.get('/deep-linking/start', (req, res) => {
    const user = userOf(ctx, req);
    const tool = launchableTool(ctx, param(req, 'tool'));
    const course = memberCourse(ctx, param(req, 'course'), user);
    if (!canEdit(ctx, course, user)) {
      throw browserError(403, 'access_denied', `user ${user.id} is not an instructor of course ${course.id}`);
    }
    const deploymentId = typeof req.query.deployment === 'string' ? req.query.deployment : tool.deploymentIds[0];
    if (!deploymentId || !tool.deploymentIds.includes(deploymentId)) {
      throw browserError(
        400,
        'invalid_request',
        `deployment ${deploymentId} is not a deployment of tool ${tool.clientId}`,
      );
    }
    const sessionId = randomUUID();
    ctx.store.deepLinkingSessions.set(sessionId, {
      id: sessionId,
      clientId: tool.clientId,
      deploymentId,
      courseId: course.id,
      userId: user.id,
      settings: {
        deep_link_return_url: `${ctx.urls.deepLinkingReturn}?session=${sessionId}`,
        accept_types: ['ltiResourceLink'],
        accept_presentation_document_targets: ['iframe', 'window'],
        accept_multiple: true,
        accept_lineitem: true,
        auto_create: true,
        title: `Add an activity to ${course.title}`,
        data: sessionId,
        ...ctx.deepLinkingOverrides,
      },
    });
    const hint: LaunchHint = {
      id: randomUUID(),
      clientId: tool.clientId,
      deploymentId,
      userId: user.id,
      courseId: course.id,
      messageType: MESSAGE_TYPE.deepLinkingRequest,
      deepLinkingSessionId: sessionId,
      targetLinkUri: tool.deepLinkingUrl,
      documentTarget: targetOf(req),
      expiresAt: Date.now() + ctx.options.launchHintLifetimeSeconds * 1000,
    };
    sendToLogin(ctx, res, tool, hint);
  });

  return router;
}

/** Instructors, course administrators and institution administrators may add activities. */
export function canEdit(ctx: PlatformContext, course: Course, user: User): boolean {
  const roles = launchRoles(ctx, course, user);
  return [ROLE.instructor, ROLE.courseAdministrator, ROLE.institutionAdministrator, ROLE.systemAdministrator].some(
    (r) => roles.includes(r),
  );
}

/** The roles claim of a launch: course roles, then institution/system roles. */
export function launchRoles(ctx: PlatformContext, course: Course, user: User): string[] {
  const membership = ctx.store.membership(course.id, user.id);
  return [...new Set([...(membership?.roles ?? []), ...user.roles])];
}

function sendToLogin(ctx: PlatformContext, res: Response, tool: Tool, hint: LaunchHint): void {
  ctx.store.launchHints.set(hint.id, hint);
  const fields: Record<string, string> = {
    iss: ctx.urls.issuer,
    login_hint: hint.userId,
    target_link_uri: hint.targetLinkUri,
    lti_message_hint: hint.id,
    client_id: tool.clientId,
    lti_deployment_id: hint.deploymentId,
  };
  // Platform Storage: in an iframe, the course page (the parent frame) keeps the tool's state and nonce for it.
  if (hint.documentTarget === 'iframe') fields.lti_storage_target = ctx.options.storageTarget;
  if (tool.loginMethod === 'GET') {
    const url = new URL(tool.loginUrl);
    for (const [k, v] of Object.entries(fields)) url.searchParams.set(k, v);
    res.redirect(302, url.href);
    return;
  }
  res.type('html').send(autoSubmitForm(tool.loginUrl, fields, `Launching ${tool.name}`));
}

function param(req: Request, name: string): string {
  const value = req.query[name];
  if (typeof value !== 'string' || value === '')
    throw browserError(400, 'invalid_request', `query parameter ${name} is required`);
  return value;
}

function targetOf(req: Request): DocumentTarget {
  return req.query.target === 'window' ? 'window' : 'iframe';
}

function userOf(ctx: PlatformContext, req: Request): User {
  const user = ctx.store.users.get(param(req, 'user'));
  if (!user) throw browserError(404, 'not_found', `user ${param(req, 'user')} not found`);
  return user;
}

function launchableTool(ctx: PlatformContext, clientId: string): Tool {
  const tool = ctx.store.tools.get(clientId);
  if (!tool) throw browserError(404, 'not_found', `tool ${clientId} not found`);
  if (tool.status !== 'active') throw browserError(403, 'access_denied', `tool ${clientId} is pending activation`);
  return tool;
}

function memberCourse(ctx: PlatformContext, courseId: string, user: User): Course {
  const course = ctx.store.courses.get(courseId);
  if (!course) throw browserError(404, 'not_found', `course ${courseId} not found`);
  const member = ctx.store.membership(course.id, user.id);
  const admin = user.roles.includes(ROLE.institutionAdministrator) || user.roles.includes(ROLE.systemAdministrator);
  if (member?.status !== 'Active' && !admin) {
    throw browserError(403, 'access_denied', `user ${user.id} is not enrolled in course ${course.id}`);
  }
  return course;
}
