/**
 * @file The tutorial of an instance (pages, steps, checks, ticks, the open
 * page) and the assets of a lab version. Assets are what the rendered pages
 * point at: `<img src>` sends no Bearer token, so a page's asset URLs carry a
 * signature of their lab version (`?access=`), which this route accepts in
 * place of a signed-in user.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { isAdmin } from '../domain/access.js';
import { ASSETS } from '../domain/tutorial/urls.js';
import { badRequest, forbidden, notFound, unauthorized } from '../errors.js';
import type { TutorialService } from '../services/tutorials.js';
import type { Store } from '../store/store.js';
import type { ApiRouter } from './routes.js';

/** Types shown inline; anything else is a download. Never HTML: an asset page could script our origin. */
const INLINE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.ogv': 'video/ogg',
  '.mov': 'video/quicktime',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.wav': 'audio/wav',
  '.m4a': 'audio/mp4',
  '.flac': 'audio/flac',
  '.vtt': 'text/vtt; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.pdf': 'application/pdf',
};
const TEXT_DOWNLOADS = /\.(conf|cfg|ini|ya?ml|json|sh|py|c|h|md|csv|log|toml|xml|html?|js|css)$/i;

/** No script, no plugin, no form, nothing fetched but our own media (an SVG asset is a document too). */
export const ASSET_CSP =
  "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; font-src 'self'; sandbox";

const stepState = z.object({
  done: z.boolean(),
  at: z.string(),
  by: z.enum(['check', 'tick']),
  attempts: z.number(),
  lastMessage: z.string().optional(),
});
const tally = { stepsDone: z.number(), stepsTotal: z.number(), pointsEarned: z.number(), pointsPossible: z.number() };
const progressView = z.object({
  instanceId: z.string(),
  progress: z.object({
    ...tally,
    pages: z.array(z.object({ index: z.number(), title: z.string(), ...tally })),
    score: z.number(),
    scoreGiven: z.number(),
    scoreMaximum: z.number(),
  }),
  steps: z.record(z.string(), stepState),
  updatedAt: z.string().optional(),
});

export function tutorialRoutes(api: ApiRouter, store: Store, tutorials: TutorialService): void {
  const tag = 'tutorials';
  api.route(
    {
      method: 'get',
      path: '/instances/:id/tutorial',
      tag,
      summary: "The tutorial of an instance: pages as safe HTML with the instance's values, steps with their state",
    },
    async ({ principal, params }) => tutorials.view(principal, params.id!),
  );
  api.route(
    {
      method: 'get',
      path: '/instances/:id/tutorial/progress',
      tag,
      summary: 'Step states and progress (per page and overall) of an instance',
      response: progressView,
    },
    async ({ principal, params }) => tutorials.progress(principal, params.id!),
  );
  api.route(
    {
      method: 'post',
      path: '/instances/:id/tutorial/steps/:step/check',
      tag,
      summary: "Run a step's check now; answers the outcome (with the hint on failure) and the progress",
    },
    async ({ principal, params }) => tutorials.check(principal, params.id!, params.step!),
  );
  api.route(
    {
      method: 'post',
      path: '/instances/:id/tutorial/steps/:step/tick',
      tag,
      summary: 'Tick (done: true) or untick a step that has no check',
      body: z.strictObject({ done: z.boolean() }),
      response: progressView,
    },
    async ({ principal, params, body }) => tutorials.tick(principal, params.id!, params.step!, body.done),
  );
  api.route(
    {
      method: 'post',
      path: '/instances/:id/tutorial/open',
      tag,
      summary:
        'The workspace shows this page (send every few seconds): its checks run in the background meanwhile. Answers the progress',
      body: z.strictObject({ page: z.number().int().min(0) }),
      response: progressView,
    },
    async ({ principal, params, body }) => tutorials.pageOpen(principal, params.id!, body.page),
  );
  api.route(
    {
      method: 'put',
      path: '/labs/:name/trusted',
      tag: 'labs',
      summary: 'Mark a lab trusted (its tutorial may embed remote https media and iframes) or not; admins only',
      body: z.strictObject({ trusted: z.boolean() }),
    },
    async ({ principal, params, body }) => {
      if (!isAdmin(principal)) throw forbidden('only an admin may mark a lab trusted');
      const lab = await store.labs.setTrusted(params.name!, body.trusted);
      if (!lab) throw notFound(`lab "${params.name}"`);
      await store.audit.record({
        actorId: principal.user.id,
        action: body.trusted ? 'lab.trust' : 'lab.distrust',
        target: `lab:${lab.name}`,
      });
      return { name: lab.name, trusted: lab.trusted };
    },
  );
  api.route(
    {
      method: 'get',
      path: `/labs/:name/versions/:version/${ASSETS}/*path`,
      tag: 'labs',
      auth: false,
      summary: `A file under ${ASSETS}/ of a lab version (signed in, or with the page's access signature)`,
      query: z.object({ access: z.string().max(100).optional() }),
      responseType: 'application/octet-stream',
    },
    async ({ req, res, principal, params, query }) => {
      const name = params.name!;
      const version = Number(params.version);
      if (!Number.isInteger(version) || version < 1)
        throw badRequest(`version: expected a whole number ≥ 1, got "${params.version}"`);
      if (!principal && !tutorials.assetAccessValid(name, version, query.access))
        throw unauthorized('sign in, or use the asset URL of a rendered tutorial page');
      const raw = (req.params as Record<string, string | string[]>).path;
      const rest = Array.isArray(raw) ? raw.join('/') : String(raw ?? '');
      const path = posix.normalize(`${ASSETS}/${rest}`);
      if (!path.startsWith(`${ASSETS}/`) || path.split('/').some((part) => part === '..'))
        throw notFound(`file "${rest}" under ${ASSETS}/`);
      const lab = await tutorials.labVersion({ labName: name, labVersion: version }).catch(() => undefined);
      const file = lab?.files.find((f) => f.path === path);
      if (!file) throw notFound(`file "${path}" of lab "${name}" version ${version}`);
      const ext = posix.extname(path).toLowerCase();
      const inline = Object.hasOwn(INLINE_TYPES, ext) ? INLINE_TYPES[ext] : undefined;
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Content-Security-Policy', ASSET_CSP);
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
      res.setHeader('Cache-Control', 'private, max-age=3600');
      if (inline) res.type(inline);
      else {
        res.attachment(posix.basename(path)); // before type(): attachment() sets a type from the extension
        res.type(TEXT_DOWNLOADS.test(path) ? 'text/plain; charset=utf-8' : 'application/octet-stream');
      }
      res.send(file.content);
    },
  );
}
