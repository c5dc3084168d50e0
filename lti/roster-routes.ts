/**
 * @file The roster for a course's instructors (`GET
 * /lti/courses/:courseId/roster`): the LMS's members (NRPS) with their
 * instance and score here.
 */
import express from 'express';
import { apiTokenAuthenticator, authenticate } from '../server/api/auth.js';
import { instructsCourse, isAdmin } from '../server/domain/access.js';
import { forbidden, HttpError } from '../server/errors.js';
import type { Store } from '../server/store/store.js';
import { principal, wrap } from './http.js';
import { courseRoster } from './roster.js';
import type { PlatformServices } from './services.js';

export function rosterRoutes(deps: { store: Store; services: PlatformServices }): express.Router {
  const { store } = deps;
  const r = express.Router();
  const signedIn = authenticate(store, [apiTokenAuthenticator(store)]);

  r.get(
    '/courses/:courseId/roster',
    signedIn,
    wrap(async (req, res) => {
      const p = principal(req);
      const courseId = String(req.params.courseId);
      if (!isAdmin(p) && !instructsCourse(p, courseId)) throw forbidden('only the course instructors see its roster');
      try {
        res.json({ members: await courseRoster(store, deps.services, courseId) });
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw new HttpError(502, `the roster could not be read from the LMS: ${(err as Error).message}`, undefined, {
          cause: err,
        });
      }
    }),
  );
  return r;
}
