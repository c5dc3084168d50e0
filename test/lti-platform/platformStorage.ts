/**
 * @file The platform side of 1EdTech "LTI Client Side postMessages" and
 * "Platform Storage": a script for the page that embeds the tool (the course
 * page) that answers `lti.capabilities`, `lti.put_data` and `lti.get_data`
 * (also with the older `org.imsglobal.` prefix), keeping values per sender
 * origin, so a tool inside the iframe can keep its OIDC state and nonce
 * without third-party cookies (what Canvas offers with lti_storage_target).
 *
 * Only origins of registered tools are answered with data; others get a
 * `bad_request` error. Every message is reported to the platform
 * (`POST /platform-storage/messages`, recorded in
 * `store.platformStorageMessages`) so tests can see what was exchanged.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { PlatformContext } from './context.js';
import { escapeHtml as h, page } from './html.js';

/** Sent as lti_storage_target by default: the tool posts to its parent frame, the course page. */
export const PLATFORM_STORAGE_TARGET = '_parent';
/** The sibling frame Canvas names in lti_storage_target; it answers put/get, the course page only capabilities. */
export const CANVAS_STORAGE_FRAME = 'post_message_forwarding';

export const PLATFORM_STORAGE_FRAME_PATH = '/platform-storage/frame';

export const PLATFORM_STORAGE_LOG_PATH = '/platform-storage/messages';

/** The origins tools send postMessages from: those of their login, launch and redirect URLs. */
export function toolOrigins(ctx: PlatformContext): string[] {
  const origins = new Set<string>();
  for (const tool of ctx.store.tools.values()) {
    for (const url of [tool.loginUrl, tool.targetLinkUri, tool.deepLinkingUrl, ...tool.redirectUris]) {
      if (url && URL.canParse(url)) origins.add(new URL(url).origin);
    }
  }
  return [...origins];
}

/**
 * What the course page embeds: the responder itself when the tools post to
 * `_parent`; otherwise a capabilities-only responder naming the hidden
 * sibling frame that answers put/get (Canvas's arrangement). Nothing while
 * the switch silences Platform Storage.
 */
export function platformStorageEmbed(ctx: PlatformContext, viewer: string): string {
  if (ctx.platformStorageSilent) return '';
  const target = ctx.options.storageTarget;
  if (target === PLATFORM_STORAGE_TARGET) return platformStorageScript(ctx, viewer, 'all');
  const src = `${PLATFORM_STORAGE_FRAME_PATH}?user=${encodeURIComponent(viewer)}`;
  return `<iframe name="${h(target)}" id="platform-storage-frame" src="${h(src)}" title="Platform Storage" hidden></iframe>
${platformStorageScript(ctx, viewer, 'capabilities')}`;
}

/** The responder, with the tool origins and the tamper switch as they are now. */
export function platformStorageScript(ctx: PlatformContext, viewer: string, answers: 'all' | 'capabilities'): string {
  const config = {
    origins: toolOrigins(ctx),
    log: PLATFORM_STORAGE_LOG_PATH,
    viewer,
    target: ctx.options.storageTarget,
    answers,
    tamperGetData: ctx.platformStorageTamper?.getDataValue ?? null,
  };
  return `<script type="application/json" id="platform-storage-config">${JSON.stringify(config).replaceAll('<', '\\u003c')}</script>
<script>
(() => {
  const config = JSON.parse(document.getElementById('platform-storage-config').textContent);
  const values = new Map();
  const subjects = ['lti.capabilities', 'lti.put_data', 'lti.get_data'];
  const report = (entry) =>
    fetch(config.log, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ viewer: config.viewer, ...entry }), keepalive: true }).catch(() => undefined);
  window.addEventListener('message', (event) => {
    const data = event.data;
    if (!data || typeof data !== 'object' || typeof data.subject !== 'string') return;
    const prefixed = data.subject.startsWith('org.imsglobal.');
    const subject = prefixed ? data.subject.slice('org.imsglobal.'.length) : data.subject;
    if (!subjects.includes(subject) || !event.source) return;
    const key = typeof data.key === 'string' ? data.key : undefined;
    const reply = (body, outcome) => {
      event.source.postMessage({ subject: data.subject + '.response', message_id: data.message_id, ...body }, event.origin);
      report({ subject: data.subject, origin: event.origin, key, outcome });
    };
    const fail = (message, outcome = 'error') => reply({ error: { code: 'bad_request', message } }, outcome);
    if (!config.origins.includes(event.origin)) return fail('origin ' + event.origin + ' is not a tool of this platform', 'refused');
    if (subject === 'lti.capabilities') {
      reply({ supported_messages: subjects.map((s) => ({ subject: s, frame: config.target })) }, 'answered');
      return;
    }
    if (config.answers !== 'all') return; // the storage frame answers these
    if (key === undefined || key === '') return fail('key must be a non-empty string');
    const slot = event.origin + '\\n' + key;
    if (subject === 'lti.put_data') {
      if (typeof data.value !== 'string') return fail('value must be a string');
      values.set(slot, data.value);
      reply({ key, value: data.value }, 'stored');
      document.body.dataset.platformStorageWrites = String(Number(document.body.dataset.platformStorageWrites || 0) + 1);
      return;
    }
    if (!values.has(slot)) return fail('there is no value stored for this key', 'missing');
    const tampered = config.tamperGetData !== null && key.startsWith('state_');
    reply({ key, value: tampered ? config.tamperGetData : values.get(slot) }, tampered ? 'tampered' : 'found');
  });
})();
</script>`;
}

const reportSchema = z.object({
  viewer: z.string().max(200),
  subject: z.string().max(100),
  origin: z.string().max(500),
  key: z.string().max(500).optional(),
  outcome: z.enum(['answered', 'stored', 'found', 'missing', 'tampered', 'refused', 'error']),
});

/** Where the course page reports the messages it answered; the storage frame. */
export function platformStorageRouter(ctx: PlatformContext): Router {
  const router = Router();
  router.get(PLATFORM_STORAGE_FRAME_PATH, (req, res) => {
    const viewer = typeof req.query.user === 'string' ? req.query.user : '';
    res.type('html').send(page('Platform Storage', platformStorageScript(ctx, viewer, 'all')));
  });
  router.post(PLATFORM_STORAGE_LOG_PATH, (req, res) => {
    const entry = reportSchema.safeParse(req.body);
    if (!entry.success) {
      res.status(400).json({ error: 'invalid_request', error_description: entry.error.message });
      return;
    }
    ctx.store.platformStorageMessages.push({ ...entry.data, at: new Date() });
    res.status(204).end();
  });
  return router;
}
