/**
 * @file Route declarations that serve twice: they register the Express
 * handler (with input validated by zod at the edge) and they describe the
 * route in the OpenAPI document, from the same schemas.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../domain/access.js';
import { badRequest, type Problem, unauthorized } from '../errors.js';

type Method = 'get' | 'post' | 'put' | 'delete';

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  method: Method;
  /** Express path relative to /api/v1, e.g. `/labs/:name`. */
  path: string;
  summary: string;
  tag: string;
  /** Default true: the route needs a signed-in user. */
  auth?: boolean;
  body?: B;
  /** Other request body media types the route accepts besides JSON (e.g. application/zip). */
  rawBody?: string[];
  query?: Q;
  /** Success status and a schema of the answer (documentation only). */
  status?: number;
  response?: z.ZodType;
  responseType?: string;
}

export interface RouteInput<B, Q> {
  req: Request;
  res: Response;
  principal: Principal;
  body: B;
  query: Q;
  params: Record<string, string>;
}

type Infer<T> = T extends z.ZodType ? z.output<T> : undefined;

/** zod issues → problems naming the field and the reason. */
export function problemsOf(error: z.ZodError, prefix: string): Problem[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = problemsOf(result.error, where);
    throw badRequest(`invalid ${where}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
  }
  return result.data;
}

export class ApiRouter {
  readonly router = express.Router();
  private readonly specs: RouteSpec<z.ZodType | undefined, z.ZodType | undefined>[] = [];

  route<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    spec: RouteSpec<B, Q>,
    handler: (input: RouteInput<Infer<B>, Infer<Q>>) => Promise<unknown>,
  ): void {
    this.specs.push(spec as RouteSpec<z.ZodType | undefined, z.ZodType | undefined>);
    this.router[spec.method](spec.path, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const principal = req.principal;
        if (spec.auth !== false && !principal) throw unauthorized();
        // Routes that also take raw media types (zip, YAML) read those themselves.
        const raw = spec.rawBody !== undefined && !req.is('application/json');
        const body = (spec.body && !raw ? parseOrThrow(spec.body, req.body ?? {}, 'body') : req.body) as Infer<B>;
        const query = (spec.query ? parseOrThrow(spec.query, req.query, 'query') : undefined) as Infer<Q>;
        const result = await handler({
          req,
          res,
          principal: principal as Principal,
          body,
          query,
          params: req.params as Record<string, string>,
        });
        if (res.headersSent) return;
        if (result === undefined) res.status(spec.status ?? 204).end();
        else res.status(spec.status ?? 200).json(result);
      } catch (err) {
        next(err);
      }
    });
  }

  /** OpenAPI 3 path items of the declared routes. */
  openapiPaths(): Record<string, Record<string, unknown>> {
    const paths: Record<string, Record<string, unknown>> = {};
    const schema = (s: z.ZodType, io: 'input' | 'output') =>
      z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' });
    for (const spec of this.specs) {
      // `:name` and Express 5's `*name` (the rest of the path) are both path parameters.
      const path = `/api/v1${spec.path.replace(/[:*](\w+)/g, '{$1}')}`;
      const parameters: unknown[] = [...spec.path.matchAll(/[:*](\w+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      }));
      if (spec.query) {
        const q = schema(spec.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, s] of Object.entries(q.properties ?? {})) {
          parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema: s });
        }
      }
      const content: Record<string, unknown> = {};
      if (spec.body) content['application/json'] = { schema: schema(spec.body, 'input') };
      for (const type of spec.rawBody ?? []) content[type] = { schema: { type: 'string', format: 'binary' } };
      const status = String(spec.status ?? 200);
      paths[path] ??= {};
      paths[path][spec.method] = {
        summary: spec.summary,
        tags: [spec.tag],
        ...(parameters.length ? { parameters } : {}),
        ...(Object.keys(content).length ? { requestBody: { required: true, content } } : {}),
        ...(spec.auth === false ? { security: [] } : {}),
        responses: {
          [status]: {
            description: 'success',
            ...(spec.response
              ? { content: { [spec.responseType ?? 'application/json']: { schema: schema(spec.response, 'output') } } }
              : spec.responseType
                ? { content: { [spec.responseType]: { schema: { type: 'string', format: 'binary' } } } }
                : {}),
          },
          default: { $ref: '#/components/responses/Error' },
        },
      };
    }
    return paths;
  }
}

export const errorSchema = z.object({
  error: z.object({
    status: z.number(),
    message: z.string(),
    problems: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
