/**
 * @file Paging of service containers (AGS line items and results, NRPS
 * memberships): `limit` and `page` query parameters, the next page in a
 * `Link: <...>; rel="next"` header (AGS 2.0 §3.2.4, NRPS 2.0 §2.4).
 */
import type { Request, Response } from 'express';
import { PlatformError } from './errors.js';

export function paginate<T>(req: Request, res: Response, baseUrl: string, items: T[]): T[] {
  const limit = positiveInt(req.query.limit, 'limit');
  const page = positiveInt(req.query.page, 'page') ?? 1;
  if (limit === undefined) return items;
  const start = (page - 1) * limit;
  if (start + limit < items.length) {
    const next = new URL(baseUrl);
    for (const [k, v] of Object.entries(req.query))
      if (typeof v === 'string' && k !== 'page') next.searchParams.set(k, v);
    next.searchParams.set('page', String(page + 1));
    res.set('Link', `<${next.href}>; rel="next"`);
  }
  return items.slice(start, start + limit);
}

function positiveInt(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new PlatformError(400, 'invalid_request', `${name} must be a positive integer`);
  return n;
}
