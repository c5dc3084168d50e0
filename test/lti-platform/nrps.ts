/**
 * @file Names and Role Provisioning Services 2.0: the context membership
 * container, filtered by `role` (full URI or short name) and paged with a
 * Link header. Names and email only as the tool's privacy allows.
 */
import { Router } from 'express';
import type { PlatformContext } from './context.js';
import { notFound, PlatformError } from './errors.js';
import { personClaims } from './idToken.js';
import { paginate } from './paging.js';
import { bearer, outageGate } from './serviceAuth.js';
import { COURSE_ROLE_SHORT_NAMES, MEDIA_TYPE, SCOPE } from './vocabulary.js';

export function nrpsRouter(ctx: PlatformContext): Router {
  const router = Router();
  router.get('/api/lti/courses/:courseId/memberships', outageGate(ctx, 'nrps'), (req, res) => {
    const token = bearer(ctx, req, [SCOPE.membershipReadOnly]);
    const tool = ctx.store.tools.get(token.clientId);
    const course = ctx.store.courses.get(String(req.params.courseId));
    if (!course || !tool) throw notFound(`course ${String(req.params.courseId)}`);
    const url = ctx.urls.memberships(course.id);
    const rlid = req.query.rlid;
    if (typeof rlid === 'string') {
      const link = ctx.store.resourceLinks.get(rlid);
      if (!link || link.courseId !== course.id)
        throw new PlatformError(400, 'invalid_request', `rlid: ${rlid} is not a resource link of course ${course.id}`);
    }
    const role =
      typeof req.query.role === 'string' ? (COURSE_ROLE_SHORT_NAMES[req.query.role] ?? req.query.role) : undefined;
    const members = ctx.store
      .membersOf(course.id)
      .filter((m) => role === undefined || m.roles.includes(role))
      .flatMap((m) => {
        const user = ctx.store.users.get(m.userId);
        if (!user) return [];
        return [{ status: m.status, user_id: user.id, roles: m.roles, ...personClaims(tool, user) }];
      });
    const page = paginate(req, res, url, members);
    res.type(MEDIA_TYPE.membershipContainer).send(
      JSON.stringify({
        id: url,
        context: { id: course.id, label: course.label, title: course.title },
        members: page,
      }),
    );
  });
  return router;
}
