import type { Request } from 'express';
import { z } from 'zod';
import type { LabBundle } from '../domain/lab/bundle.js';
import { parseLab } from '../domain/lab/parse.js';
import { readLabZip, writeLabZip } from '../domain/lab/zip.js';
import { badRequest } from '../errors.js';
import type { LabCatalog } from '../services/labs.js';
import type { Store } from '../store/store.js';
import type { ApiRouter } from './routes.js';

/** A lab sent as JSON: its files by path, as text (utf8) or base64. */
export const labFilesBody = z.object({
  files: z
    .record(z.string(), z.string())
    .refine((files) => 'lab.yaml' in files, { message: 'expected a "lab.yaml" entry' }),
  encoding: z.enum(['utf8', 'base64']).default('utf8'),
});

const LAB_TYPES = ['application/zip', 'application/yaml'];

/** The lab bundle of a request: a zip, a lone lab.yaml, or JSON files. */
export function bundleOf(req: Request): LabBundle {
  const type = req.headers['content-type']?.split(';')[0]?.trim();
  if (Buffer.isBuffer(req.body)) {
    if (type === 'application/zip' || type === 'application/octet-stream') {
      const result = readLabZip(req.body);
      if (!result.ok) throw badRequest('the zip is not a valid lab', result.problems);
      return result.bundle;
    }
  }
  if (typeof req.body === 'string') return { files: new Map([['lab.yaml', Buffer.from(req.body, 'utf8')]]) };
  const parsed = labFilesBody.safeParse(req.body);
  if (!parsed.success) {
    throw badRequest(
      'send a lab as application/zip, as application/yaml (lab.yaml alone) or as JSON {"files": {"lab.yaml": "..."}}',
      parsed.error.issues.map((i) => ({ path: ['body', ...i.path.map(String)].join('.'), message: i.message })),
    );
  }
  const { files, encoding } = parsed.data;
  return { files: new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text, encoding)])) };
}

const labSummary = z.object({
  name: z.string(),
  title: z.string(),
  latestVersion: z.number(),
  ownerId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const saved = z.object({ name: z.string(), version: z.number(), changed: z.boolean() });
const validation = z.object({
  valid: z.boolean(),
  problems: z.array(z.object({ path: z.string(), message: z.string() })),
});

export function labRoutes(api: ApiRouter, store: Store, catalog: LabCatalog): void {
  const tag = 'labs';
  api.route({ method: 'get', path: '/labs', tag, summary: 'List labs', response: z.array(labSummary) }, async () =>
    store.labs.list(),
  );
  api.route(
    {
      method: 'post',
      path: '/labs',
      tag,
      summary: 'Create (import) a lab from a zip, a lab.yaml or JSON files',
      body: labFilesBody,
      rawBody: LAB_TYPES,
      status: 201,
      response: saved,
    },
    async ({ req, principal }) => catalog.importBundle(principal, bundleOf(req), { asNewVersion: false }),
  );
  api.route(
    {
      method: 'post',
      path: '/labs/validate',
      tag,
      summary: 'Validate a lab without storing it; lists every problem with file, line and field',
      body: labFilesBody,
      rawBody: LAB_TYPES,
      response: validation,
    },
    async ({ req }) => {
      const result = parseLab(bundleOf(req));
      return result.ok ? { valid: true, problems: [] } : { valid: false, problems: result.problems };
    },
  );
  api.route(
    { method: 'get', path: '/labs/:name', tag, summary: 'A lab: summary and latest definition' },
    async ({ params }) => {
      const v = await catalog.version(params.name!);
      const lab = await store.labs.get(params.name!);
      return { ...lab, definition: v.definition, files: v.files.map((f) => f.path) };
    },
  );
  api.route({ method: 'get', path: '/labs/:name/versions', tag, summary: 'Versions of a lab' }, async ({ params }) => {
    await catalog.version(params.name!);
    return store.labs.versions(params.name!);
  });
  api.route(
    {
      method: 'post',
      path: '/labs/:name/versions',
      tag,
      summary: 'Add a version to a lab (an identical bundle adds none)',
      body: labFilesBody,
      rawBody: LAB_TYPES,
      status: 201,
      response: saved,
    },
    async ({ req, params, principal }) =>
      catalog.importBundle(principal, bundleOf(req), { asNewVersion: true, expectName: params.name! }),
  );
  api.route(
    { method: 'get', path: '/labs/:name/versions/:version', tag, summary: 'One version of a lab' },
    async ({ params }) => {
      const v = await catalog.version(params.name!, versionParam(params.version!));
      return { name: v.labName, version: v.version, definition: v.definition, files: v.files.map((f) => f.path) };
    },
  );
  api.route(
    {
      method: 'get',
      path: '/labs/:name/export',
      tag,
      summary: 'Export a lab version as a zip',
      query: z.object({ version: z.coerce.number().int().min(1).optional() }),
      responseType: 'application/zip',
    },
    async ({ params, query, res }) => {
      const zip = writeLabZip(await catalog.bundle(params.name!, query.version));
      res.type('application/zip').attachment(`${params.name}.zip`).send(zip);
    },
  );
  api.route(
    { method: 'delete', path: '/labs/:name', tag, summary: 'Delete a lab that has no active instance' },
    async ({ params, principal }) => catalog.remove(principal, params.name!),
  );
}

function versionParam(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw badRequest(`version: expected a whole number ≥ 1, got "${text}"`);
  return n;
}
