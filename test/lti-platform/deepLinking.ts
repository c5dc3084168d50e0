/**
 * @file The deep linking return endpoint (Deep Linking 2.0 §4.5): verifies
 * the tool's LtiDeepLinkingResponse JWT (RS256 by the tool's key, iss =
 * client_id, aud = the platform's issuer, a fresh nonce, the deployment and
 * `data` of the request) and turns each ltiResourceLink into a resource link
 * of the course, with a line item when the item carries one.
 */
import { Router } from 'express';
import { type JWTPayload, jwtVerify } from 'jose';
import { z } from 'zod';
import type { PlatformContext } from './context.js';
import { browserError } from './errors.js';
import { escapeHtml, page } from './html.js';
import type { DeepLinkingSession, LineItem, ResourceLink } from './model.js';
import { zodProblems } from './scoreRules.js';
import { CLAIM, LTI_VERSION, MESSAGE_TYPE } from './vocabulary.js';

const resourceLinkItem = z.object({
  type: z.literal('ltiResourceLink'),
  url: z.url().optional(),
  title: z.string().optional(),
  text: z.string().optional(),
  custom: z.record(z.string(), z.string(), { error: 'custom values must be strings' }).optional(),
  lineItem: z
    .object({
      scoreMaximum: z.number().positive(),
      label: z.string().optional(),
      resourceId: z.string().optional(),
      tag: z.string().optional(),
      gradesReleased: z.boolean().optional(),
    })
    .optional(),
});
const anyItem = z.looseObject({ type: z.string().min(1) });

export function deepLinkingRouter(ctx: PlatformContext): Router {
  const router = Router();
  router.post('/deep-linking/return', async (req, res) => {
    const sessionId = typeof req.query.session === 'string' ? req.query.session : '';
    const session = ctx.store.deepLinkingSessions.get(sessionId);
    if (!session)
      throw browserError(400, 'invalid_request', `no deep linking request ${sessionId || '(missing session)'}`);
    if (session.returnedAt)
      throw browserError(400, 'invalid_request', 'this deep linking request was already answered');
    const jwt = (req.body as Record<string, unknown> | undefined)?.JWT;
    if (typeof jwt !== 'string' || jwt === '')
      throw browserError(400, 'invalid_request', 'the form field JWT is required');
    const payload = await verifyResponse(ctx, session, jwt);
    const items = contentItems(session, payload);

    const createdLinks: ResourceLink[] = [];
    const createdLineItems: LineItem[] = [];
    for (const item of items) {
      if (item.type !== 'ltiResourceLink') continue;
      const parsed = resourceLinkItem.parse(item);
      const tool = ctx.store.tools.get(session.clientId)!;
      const link: ResourceLink = {
        id: ctx.store.nextId('link'),
        courseId: session.courseId,
        clientId: session.clientId,
        deploymentId: session.deploymentId,
        title: parsed.title ?? tool.name,
        description: parsed.text,
        url: parsed.url,
        custom: parsed.custom ?? {},
        createdBy: 'deep-linking',
      };
      ctx.store.resourceLinks.set(link.id, link);
      createdLinks.push(link);
      if (parsed.lineItem) {
        const lineItem: LineItem = {
          id: ctx.store.nextId('lineitem'),
          courseId: session.courseId,
          clientId: session.clientId,
          label: parsed.lineItem.label ?? link.title,
          scoreMaximum: parsed.lineItem.scoreMaximum,
          resourceId: parsed.lineItem.resourceId,
          tag: parsed.lineItem.tag,
          gradesReleased: parsed.lineItem.gradesReleased,
          resourceLinkId: link.id,
        };
        ctx.store.lineItems.set(lineItem.id, lineItem);
        createdLineItems.push(lineItem);
      }
    }
    session.returnedAt = new Date();
    const msg = stringClaim(payload, CLAIM.deepLinkingMsg);
    const errormsg = stringClaim(payload, CLAIM.deepLinkingErrorMsg);
    ctx.store.deepLinkingReturns.push({
      sessionId,
      receivedAt: session.returnedAt,
      payload,
      createdLinks,
      createdLineItems,
      msg,
      errormsg,
    });
    const list = createdLinks
      .map((l) => `<li data-link-id="${escapeHtml(l.id)}">${escapeHtml(l.title)}</li>`)
      .join('\n');
    res.type('html').send(
      page(
        'Deep linking done',
        `<h1 id="deep-linking-done" data-created="${createdLinks.length}">${createdLinks.length} activit${createdLinks.length === 1 ? 'y' : 'ies'} added</h1>
${msg ? `<p id="msg">${escapeHtml(msg)}</p>` : ''}${errormsg ? `<p id="errormsg" class="error">${escapeHtml(errormsg)}</p>` : ''}
<ul id="created">${list}</ul>
<p><a href="${escapeHtml(ctx.urls.coursePage(session.courseId, session.userId))}" target="_top">Back to the course</a></p>`,
      ),
    );
  });
  return router;
}

async function verifyResponse(ctx: PlatformContext, session: DeepLinkingSession, jwt: string): Promise<JWTPayload> {
  const tool = ctx.store.tools.get(session.clientId);
  if (!tool) throw browserError(400, 'invalid_request', `tool ${session.clientId} no longer exists`);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jwt, ctx.toolKeys.for(tool), {
      algorithms: ['RS256'],
      issuer: tool.clientId,
      audience: ctx.urls.issuer,
      requiredClaims: ['iat', 'exp', 'nonce'],
      clockTolerance: 5,
    }));
  } catch (err) {
    throw browserError(
      400,
      'invalid_request',
      `deep linking response refused: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const refuse = (message: string) => browserError(400, 'invalid_request', `deep linking response refused: ${message}`);
  if (payload[CLAIM.messageType] !== MESSAGE_TYPE.deepLinkingResponse) {
    throw refuse(`message_type must be ${MESSAGE_TYPE.deepLinkingResponse}`);
  }
  if (payload[CLAIM.version] !== LTI_VERSION) throw refuse(`version must be ${LTI_VERSION}`);
  if (payload[CLAIM.deploymentId] !== session.deploymentId)
    throw refuse(`deployment_id must be ${session.deploymentId}`);
  if (session.settings.data !== undefined && payload[CLAIM.deepLinkingData] !== session.settings.data) {
    throw refuse('data must echo the data of the deep linking request');
  }
  const nonceKey = `${tool.clientId}\n${String(payload.nonce)}`;
  if (ctx.store.usedResponseNonces.has(nonceKey)) throw refuse(`nonce ${String(payload.nonce)} was already used`);
  ctx.store.usedResponseNonces.add(nonceKey);
  return payload;
}

function contentItems(session: DeepLinkingSession, payload: JWTPayload): Array<{ type: string }> {
  const raw = payload[CLAIM.deepLinkingContentItems] ?? [];
  const parsed = z.array(anyItem).safeParse(raw);
  if (!parsed.success) throw browserError(400, 'invalid_request', `content_items: ${zodProblems(parsed.error)}`);
  const items = parsed.data;
  const { accept_types, accept_multiple, accept_lineitem } = session.settings;
  if (!accept_multiple && items.length > 1)
    throw browserError(400, 'invalid_request', 'content_items: only one item is accepted');
  items.forEach((item, i) => {
    if (!accept_types.includes(item.type)) {
      throw browserError(
        400,
        'invalid_request',
        `content_items[${i}].type ${item.type} is not accepted (${accept_types.join(', ')})`,
      );
    }
    if (item.type !== 'ltiResourceLink') return;
    const link = resourceLinkItem.safeParse(item);
    if (!link.success) throw browserError(400, 'invalid_request', `content_items[${i}]: ${zodProblems(link.error)}`);
    if (link.data.lineItem && !accept_lineitem) {
      throw browserError(400, 'invalid_request', `content_items[${i}].lineItem is not accepted by this request`);
    }
  });
  return items;
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' ? value : undefined;
}
