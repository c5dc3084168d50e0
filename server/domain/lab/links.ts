/**
 * @file How a link or image in a lab's markdown names a file of the lab. One
 * rule for the validator (the file must exist) and the tutorial renderer (which
 * turns it into a URL): a relative target is looked up next to the markdown file
 * first (as editors and GitHub preview it, e.g. `../assets/x.png` from
 * `pages/01.md`), then from the lab folder (`assets/x.png`).
 */
import { posix } from 'node:path';

export type LinkTarget =
  /** Not a lab file: a URL with a scheme (`https:`, `mailto:`), `//host/...` or an in-page `#anchor`. */
  | { kind: 'external' }
  /** A file of the lab, by its path in the bundle. */
  | { kind: 'file'; path: string }
  /** Meant as a lab file but unusable; `reason` is for the lab author. */
  | { kind: 'invalid'; reason: string };

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Resolves `target` as written in the markdown file `fromFile` (a bundle path).
 * `exists` tells whether a bundle path is a file of the lab.
 */
export function resolveLabLink(fromFile: string, target: string, exists: (path: string) => boolean): LinkTarget {
  if (SCHEME.test(target) || target.startsWith('//') || target.startsWith('#')) return { kind: 'external' };
  const withoutSuffix = target.replace(/[?#].*$/, '');
  let file: string;
  try {
    file = decodeURI(withoutSuffix);
  } catch {
    return { kind: 'invalid', reason: `"${target}" is not a valid link` };
  }
  if (file === '') return { kind: 'external' };
  if (file.startsWith('/')) return { kind: 'invalid', reason: `"${target}": links to lab files must be relative` };
  const candidates = [posix.join(posix.dirname(fromFile), file), posix.normalize(file)];
  const inside = candidates.filter((path) => path !== '..' && !path.startsWith('../'));
  if (inside.length === 0) return { kind: 'invalid', reason: `"${target}" points outside the lab folder` };
  const found = inside.find(exists);
  if (found === undefined) {
    return { kind: 'invalid', reason: `"${target}" is not a file of the lab (looked for ${quoteAll(inside)})` };
  }
  return { kind: 'file', path: found };
}

function quoteAll(paths: string[]): string {
  return [...new Set(paths)].map((path) => `"${path}"`).join(' and ');
}
