/**
 * @file Assignment and Grade Services 2.0: the line item container, line
 * items, scores (recorded in the gradebook, every attempt logged) and
 * results. A tool sees only the line items it owns. Media types are checked
 * as Moodle does.
 */
import { type Request, Router } from 'express';
import { z } from 'zod';
import type { PlatformContext } from './context.js';
import { notFound, PlatformError } from './errors.js';
import type { AccessToken, Course, LineItem } from './model.js';
import { paginate } from './paging.js';
import { applyScore, parseScore, zodProblems } from './scoreRules.js';
import { bearer, outageGate } from './serviceAuth.js';
import { MEDIA_TYPE, SCOPE } from './vocabulary.js';

const isoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });
const lineItemSchema = z.object({
  id: z.string().optional(),
  scoreMaximum: z.number().positive(),
  label: z.string().trim().min(1),
  resourceId: z.string().optional(),
  tag: z.string().optional(),
  resourceLinkId: z.string().optional(),
  startDateTime: isoDateTime.optional(),
  endDateTime: isoDateTime.optional(),
  gradesReleased: z.boolean().optional(),
});

const READ_LINE_ITEMS = [SCOPE.lineItem, SCOPE.lineItemReadOnly];

export function agsRouter(ctx: PlatformContext): Router {
  const router = Router();
  router.use('/api/lti/courses/:courseId/line_items', outageGate(ctx, 'ags'));

  router.get('/api/lti/courses/:courseId/line_items', (req, res) => {
    const token = bearer(ctx, req, READ_LINE_ITEMS);
    const course = courseOf(ctx, req);
    const q = req.query;
    const items = [...ctx.store.lineItems.values()].filter(
      (l) =>
        l.courseId === course.id &&
        l.clientId === token.clientId &&
        (typeof q.resource_link_id !== 'string' || l.resourceLinkId === q.resource_link_id) &&
        (typeof q.resource_id !== 'string' || l.resourceId === q.resource_id) &&
        (typeof q.tag !== 'string' || l.tag === q.tag),
    );
    const page = paginate(req, res, ctx.urls.lineItems(course.id), items);
    res.type(MEDIA_TYPE.lineItemContainer).send(JSON.stringify(page.map((l) => lineItemJson(ctx, l))));
  });

  router.post('/api/lti/courses/:courseId/line_items', (req, res) => {
    const token = bearer(ctx, req, [SCOPE.lineItem]);
    const course = courseOf(ctx, req);
    const body = lineItemBody(ctx, req, course, token);
    const item: LineItem = { ...body, id: ctx.store.nextId('lineitem'), courseId: course.id, clientId: token.clientId };
    ctx.store.lineItems.set(item.id, item);
    res
      .status(201)
      .type(MEDIA_TYPE.lineItem)
      .send(JSON.stringify(lineItemJson(ctx, item)));
  });

  router.get('/api/lti/courses/:courseId/line_items/:lineItemId', (req, res) => {
    const token = bearer(ctx, req, READ_LINE_ITEMS);
    const item = lineItemOf(ctx, req, token);
    res.type(MEDIA_TYPE.lineItem).send(JSON.stringify(lineItemJson(ctx, item)));
  });

  router.put('/api/lti/courses/:courseId/line_items/:lineItemId', (req, res) => {
    const token = bearer(ctx, req, [SCOPE.lineItem]);
    const item = lineItemOf(ctx, req, token);
    const body = lineItemBody(ctx, req, courseOf(ctx, req), token);
    if (body.id !== undefined && body.id !== ctx.urls.lineItem(item.courseId, item.id)) {
      throw new PlatformError(400, 'invalid_request', 'id: does not match the line item URL');
    }
    const updated: LineItem = { ...body, id: item.id, courseId: item.courseId, clientId: item.clientId };
    ctx.store.lineItems.set(item.id, updated);
    res.type(MEDIA_TYPE.lineItem).send(JSON.stringify(lineItemJson(ctx, updated)));
  });

  router.delete('/api/lti/courses/:courseId/line_items/:lineItemId', (req, res) => {
    const token = bearer(ctx, req, [SCOPE.lineItem]);
    const item = lineItemOf(ctx, req, token);
    ctx.store.lineItems.delete(item.id);
    for (const [key, entry] of ctx.store.gradebook) if (entry.lineItemId === item.id) ctx.store.gradebook.delete(key);
    res.status(204).end();
  });

  router.post('/api/lti/courses/:courseId/line_items/:lineItemId/scores', (req, res) => {
    const token = bearer(ctx, req, [SCOPE.score]);
    const item = lineItemOf(ctx, req, token);
    const attempt = { lineItemId: item.id, receivedAt: new Date(), body: req.body as unknown, status: 204 };
    try {
      if (!req.is(MEDIA_TYPE.score))
        throw new PlatformError(415, 'invalid_request', `Content-Type must be ${MEDIA_TYPE.score}`);
      const score = parseScore(req.body);
      const entry = applyScore({
        score,
        lineItem: item,
        membership: ctx.store.membership(item.courseId, score.userId),
        previous: ctx.store.gradebookEntry(item.id, score.userId),
        gradedProgress: ctx.options.gradedProgress,
        flavour: ctx.options.flavour,
      });
      ctx.store.gradebook.set(`${item.id}\n${score.userId}`, entry);
      ctx.store.scoreAttempts.push(attempt);
      res.status(204).end();
    } catch (err) {
      const status = err instanceof PlatformError ? err.status : 500;
      ctx.store.scoreAttempts.push({ ...attempt, status, error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  });

  router.get('/api/lti/courses/:courseId/line_items/:lineItemId/results', (req, res) => {
    const token = bearer(ctx, req, [SCOPE.resultReadOnly]);
    const item = lineItemOf(ctx, req, token);
    const itemUrl = ctx.urls.lineItem(item.courseId, item.id);
    const userId = req.query.user_id;
    const entries = [...ctx.store.gradebook.values()].filter(
      (e) => e.lineItemId === item.id && (typeof userId !== 'string' || e.userId === userId),
    );
    const page = paginate(req, res, `${itemUrl}/results`, entries);
    const results = page.map((e) => ({
      id: `${itemUrl}/results/${encodeURIComponent(e.userId)}`,
      scoreOf: itemUrl,
      userId: e.userId,
      ...(e.grade === null ? {} : { resultScore: e.grade, resultMaximum: item.scoreMaximum }),
      ...(e.score.comment === undefined ? {} : { comment: e.score.comment }),
    }));
    res.type(MEDIA_TYPE.resultContainer).send(JSON.stringify(results));
  });

  return router;
}

export function lineItemJson(ctx: PlatformContext, item: LineItem): Record<string, unknown> {
  const { id, courseId: _course, clientId: _client, ...rest } = item;
  return { id: ctx.urls.lineItem(item.courseId, id), ...rest };
}

function courseOf(ctx: PlatformContext, req: Request): Course {
  const course = ctx.store.courses.get(String(req.params.courseId));
  if (!course) throw notFound(`course ${String(req.params.courseId)}`);
  return course;
}

function lineItemOf(ctx: PlatformContext, req: Request, token: AccessToken): LineItem {
  const course = courseOf(ctx, req);
  const item = ctx.store.lineItems.get(String(req.params.lineItemId));
  if (!item || item.courseId !== course.id || item.clientId !== token.clientId) {
    throw notFound(`line item ${String(req.params.lineItemId)}`);
  }
  return item;
}

function lineItemBody(ctx: PlatformContext, req: Request, course: Course, token: AccessToken) {
  if (!req.is(MEDIA_TYPE.lineItem))
    throw new PlatformError(415, 'invalid_request', `Content-Type must be ${MEDIA_TYPE.lineItem}`);
  const parsed = lineItemSchema.safeParse(req.body);
  if (!parsed.success)
    throw new PlatformError(400, 'invalid_request', `invalid line item: ${zodProblems(parsed.error)}`);
  const linkId = parsed.data.resourceLinkId;
  if (linkId !== undefined) {
    const link = ctx.store.resourceLinks.get(linkId);
    if (!link || link.courseId !== course.id || link.clientId !== token.clientId) {
      throw new PlatformError(
        400,
        'invalid_request',
        `resourceLinkId: ${linkId} is not a resource link of this tool in course ${course.id}`,
      );
    }
  }
  return parsed.data;
}
