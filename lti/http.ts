/**
 * @file What the tool's own routes (Express 5, beside the ltijs sub-app)
 * share: async handlers whose errors reach Express, the signed-in principal,
 * body parsers, and errors as JSON in the API's shape.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Principal } from '../server/domain/access.js';
import { HttpError, unauthorized } from '../server/errors.js';

export const json = express.json({ limit: '16kb' });
export const form = express.urlencoded({ extended: false, limit: '16kb' });

/** An async handler whose rejection goes to Express's error handlers. */
export const wrap =
  (fn: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

/** The signed-in principal (after `authenticate`); 401 without one. */
export function principal(req: Request): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}

/** Errors of our own routes: JSON like the API. */
export function jsonErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (!(err instanceof HttpError)) {
    next(err);
    return;
  }
  res.status(err.status).json({ error: { status: err.status, message: err.message, ...(err.details ?? {}) } });
}
