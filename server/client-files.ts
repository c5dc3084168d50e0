/**
 * @file Serves the built browser client (client/dist, made by `vite build
 * client`) at `/`, with the single-page fallback: any other GET that is not
 * the API, the gateway, LTI or an operations endpoint gets index.html, so
 * reloading `/instances/ID` works.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';

const NOT_CLIENT = /^\/(api|gateway|lti)(\/|$)|^\/(healthz|readyz|metrics)$/;

/** The folder of the built client, found from the source tree or from dist/. */
export function clientDist(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.resolve(here, '../client/dist'), path.resolve(here, '../../client/dist')]) {
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}

export function serveClient(app: express.Express, dir = clientDist()): void {
  if (!dir) {
    app.get('/', (_req, res) => {
      res
        .type('text/plain')
        .send('The browser client is not built: run `npm run build` (or `npx vite build client`) and restart.\n');
    });
    return;
  }
  const index = path.join(dir, 'index.html');
  // Hashed asset names may be cached for long; index.html never (it names the current assets).
  app.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '1y', fallthrough: false }));
  app.use(express.static(dir, { index: false, maxAge: 0 }));
  app.get(/.*/, (req, res, next) => {
    if (NOT_CLIENT.test(req.path)) return next();
    res.setHeader('cache-control', 'no-store');
    res.sendFile(index);
  });
}
