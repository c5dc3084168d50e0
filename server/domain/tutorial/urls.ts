/**
 * @file Where a URL written in a tutorial page may point. Every `href` and
 * `src` of a rendered page goes through `classifyUrl`, whether it came from
 * markdown or from raw HTML, so there is one rule to read and to test:
 *
 * - a relative path is a file of the lab (resolved against the page's folder,
 *   or else the lab folder) that must lie under `assets/`: the lab folder also holds lab.yaml with the
 *   checks and solutions, which learners must not be able to fetch. It is
 *   rewritten to the caller's asset URL;
 * - `http:`/`https:` are remote, `mailto:` is mail, `#x` is a fragment;
 * - everything else (`javascript:`, `data:`, `vbscript:`, `file:`, absolute
 *   paths on our server, protocol-relative `//host`, queries) is refused.
 *
 * `data:` is refused even for images: a lab ships its pictures as assets, and
 * one rule without exceptions is easier to trust than a list of safe types.
 */
import { posix } from 'node:path';

export type UrlClass =
  | { kind: 'asset'; path: string; fragment: string }
  | { kind: 'remote'; url: string; secure: boolean }
  | { kind: 'mailto'; url: string }
  | { kind: 'fragment'; url: string }
  | { kind: 'refused'; reason: string };

/** The folder of a lab whose files learners may see. */
export const ASSETS = 'assets';

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Browsers drop ASCII tab and newline anywhere in a URL and C0 controls and
 * spaces around it (`jav&#x09;ascript:` is `javascript:`), so the scheme is
 * read from the URL without any of them.
 */
function withoutControls(raw: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return raw.replace(/[\u0000-\u0020\u007f]/g, '');
}

/** `pageDir` is the folder of the page inside the lab ("" for the lab root). */
export function classifyUrl(raw: string, pageDir: string): UrlClass {
  const url = withoutControls(raw);
  if (url === '') return { kind: 'refused', reason: 'empty URL' };
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === 'https' || scheme === 'http') {
      if (!/^https?:\/\/[^/\\]/i.test(url)) return { kind: 'refused', reason: `malformed ${scheme} URL` };
      return { kind: 'remote', url: raw.trim(), secure: scheme === 'https' };
    }
    if (scheme === 'mailto') return { kind: 'mailto', url: raw.trim() };
    return { kind: 'refused', reason: `the "${scheme}:" scheme is not allowed` };
  }
  if (/^[/\\]{2}/.test(url))
    return { kind: 'refused', reason: 'protocol-relative URLs are not allowed; write https://' };
  if (url.startsWith('#')) return { kind: 'fragment', url };
  if (url.startsWith('/') || url.startsWith('\\'))
    return { kind: 'refused', reason: 'absolute paths are not allowed; link a file of the lab with a relative path' };
  if (url.startsWith('?')) return { kind: 'refused', reason: 'a bare query is not a file of the lab' };
  return labFile(url, pageDir);
}

function labFile(url: string, pageDir: string): UrlClass {
  const hash = url.indexOf('#');
  const beforeHash = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? '' : url.slice(hash);
  // A query means nothing for a static file of the lab; dropping it keeps
  // the asset URL one the caller fully controls.
  const encoded = beforeHash.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    return { kind: 'refused', reason: `"${url}" is not a valid path` };
  }
  if (decoded.includes('\\') || decoded.includes('\u0000'))
    return { kind: 'refused', reason: `"${url}" is not a valid path` };
  // Relative to the page (what a Git forge's preview shows) or, failing
  // that, to the lab folder: `assets/x.png` works from `pages/01.md` too.
  for (const base of new Set([pageDir, ''])) {
    const path = posix.normalize(posix.join(base, decoded));
    if (path.startsWith(`${ASSETS}/`) && path.length > ASSETS.length + 1) return { kind: 'asset', path, fragment };
  }
  return { kind: 'refused', reason: `"${url}" is not a file under ${ASSETS}/ of the lab` };
}

/** The folder of a page file inside the lab: `pages/01.md` → `pages`. */
export function pageFolder(pagePath: string | undefined): string {
  if (pagePath === undefined || pagePath === '') return '';
  const dir = posix.dirname(pagePath);
  return dir === '.' ? '' : dir;
}

/**
 * An `assetUrl` for `renderPage` that serves lab files under `base`,
 * e.g. `assetUrlUnder('/api/v1/labs/net-101/versions/3')` turns
 * `assets/x.png` into `/api/v1/labs/net-101/versions/3/assets/x.png`.
 */
export function assetUrlUnder(base: string): (path: string) => string {
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return (path) => prefix + path.split('/').map(encodeURIComponent).join('/');
}
