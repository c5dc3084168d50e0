/**
 * @file A lab's files as one value (LabBundle), the limits every way in must
 * respect, and the folder edge: read a lab folder, write one back (export).
 * Zips are in zip.ts. The parser (parse.ts) only ever sees a LabBundle, so the
 * API, the CLI and the tests validate exactly the same thing.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Problem } from '../../errors.js';

/** The files of a lab: paths relative to the lab folder with "/" separators. */
export interface LabBundle {
  files: Map<string, Buffer>;
}

export type BundleResult = { ok: true; bundle: LabBundle } | { ok: false; problems: Problem[] };

export const MAX_BUNDLE_FILES = 500;
export const MAX_BUNDLE_BYTES = 20 * 1024 * 1024;
export const TOO_MANY_FILES = `a lab may hold at most ${MAX_BUNDLE_FILES} files`;
export const TOO_MANY_BYTES = `a lab may hold at most ${MAX_BUNDLE_BYTES / 1024 / 1024} MiB of files (unpacked)`;

class LimitReached extends Error {}

/** Operating-system litter that is never part of a lab (a `.git` folder, Finder and Explorer files). */
const IGNORED_NAMES = new Set(['.git', '.DS_Store', '__MACOSX', 'Thumbs.db']);

export function isIgnoredPath(path: string): boolean {
  return path.split('/').some((segment) => IGNORED_NAMES.has(segment));
}

/** Why a path cannot be a file of a lab (absolute, escaping the folder, odd separators), or undefined. */
export function bundlePathProblem(path: string): string | undefined {
  if (path === '') return 'empty file name';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'absolute paths are not allowed in a lab';
  if (path.includes('\\')) return 'file names must use "/" as separator, not "\\"';
  if (path.includes('\0')) return 'file names must not contain NUL';
  const segments = path.split('/');
  if (segments.includes('..')) return 'path points outside the lab folder ("..")';
  if (segments.some((s) => s === '' || s === '.')) return 'path has an empty or "." segment';
  return undefined;
}

/**
 * sha256 over the sorted paths and contents: equal digests mean equal labs,
 * so an import that changes nothing can be told apart from a new version.
 */
export function bundleDigest(bundle: LabBundle): string {
  const hash = createHash('sha256');
  for (const path of [...bundle.files.keys()].sort()) {
    const content = bundle.files.get(path)!;
    // Lengths make the encoding unambiguous: no two bundles give the same stream.
    hash.update(`${Buffer.byteLength(path)}:${path}:${content.length}:`);
    hash.update(content);
  }
  return hash.digest('hex');
}

/**
 * Reads a lab folder. Refuses symbolic links (a lab must not pull in files from
 * elsewhere on the server), special files and folders over the limits; every
 * problem names the file.
 */
export async function readLabFolder(folder: string): Promise<BundleResult> {
  const problems: Problem[] = [];
  const files = new Map<string, Buffer>();
  let bytes = 0;
  const top = await lstat(folder).catch(() => undefined);
  if (!top?.isDirectory()) return { ok: false, problems: [{ path: folder, message: 'not a folder' }] };

  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(folder, relative), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (IGNORED_NAMES.has(entry.name)) continue;
      const pathProblem = bundlePathProblem(path);
      if (pathProblem !== undefined) problems.push({ path, message: pathProblem });
      else if (entry.isSymbolicLink()) problems.push({ path, message: 'symbolic links are not allowed in a lab' });
      else if (entry.isDirectory()) await walk(path);
      else if (!entry.isFile()) problems.push({ path, message: 'not a regular file' });
      else {
        if (files.size >= MAX_BUNDLE_FILES) throw new LimitReached(TOO_MANY_FILES);
        const { size } = await lstat(join(folder, path));
        bytes += size;
        if (bytes > MAX_BUNDLE_BYTES) throw new LimitReached(TOO_MANY_BYTES);
        files.set(path, await readFile(join(folder, path)));
      }
    }
  };
  try {
    await walk('');
  } catch (err) {
    if (!(err instanceof LimitReached)) throw err;
    problems.push({ path: folder, message: err.message });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, bundle: { files } };
}

/**
 * Writes a bundle into `folder` (export). The folder must be new or empty, so an
 * export never mixes with files of another lab.
 */
export async function writeLabFolder(bundle: LabBundle, folder: string): Promise<void> {
  const existing = await readdir(folder).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  if (existing.length > 0) throw new Error(`cannot export into ${folder}: the folder is not empty`);
  for (const [path, content] of bundle.files) {
    const problem = bundlePathProblem(path);
    if (problem !== undefined) throw new Error(`cannot export "${path}": ${problem}`);
    const target = join(folder, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}
