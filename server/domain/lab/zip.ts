/**
 * @file The zip edge of a lab bundle: an uploaded zip becomes a LabBundle, a
 * bundle becomes a zip for download. An upload is hostile until proven
 * otherwise: names that escape the folder (zip-slip), absolute names, symbolic
 * links, encrypted entries and archives over the limits are refused with a
 * problem each; nothing is written to disk.
 */
import AdmZip from 'adm-zip';
import type { Problem } from '../../errors.js';
import {
  type BundleResult,
  bundlePathProblem,
  isIgnoredPath,
  type LabBundle,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_FILES,
  TOO_MANY_BYTES,
  TOO_MANY_FILES,
} from './bundle.js';

const UNIX_FILE_TYPE = 0o170000;
const UNIX_SYMLINK = 0o120000;
const ENCRYPTED_FLAG = 0x1;

/**
 * Reads a zip into a bundle. A lab may sit at the top of the archive or inside
 * one top-level folder (what "compress folder" makes). `name` labels problems
 * about the archive as a whole.
 */
export function readLabZip(zip: Buffer, name = 'lab.zip'): BundleResult {
  let entries: AdmZip.IZipEntry[];
  try {
    entries = new AdmZip(zip).getEntries();
  } catch (err) {
    return { ok: false, problems: [{ path: name, message: `not a readable zip archive (${reason(err)})` }] };
  }
  const problems: Problem[] = [];
  const accepted: { path: string; entry: AdmZip.IZipEntry }[] = [];
  let declaredBytes = 0;
  for (const entry of entries) {
    // Windows tools may write "\" separators; read them as "/" so "..\" cannot slip through.
    const path = entry.entryName.replaceAll('\\', '/').replace(/\/+$/, '');
    if (isIgnoredPath(path)) continue;
    const problem = zipPathProblem(path);
    if (problem !== undefined) {
      problems.push({ path: entry.entryName, message: problem });
      continue;
    }
    if (entry.isDirectory) continue;
    if (((entry.header.attr >>> 16) & UNIX_FILE_TYPE) === UNIX_SYMLINK) {
      problems.push({ path, message: 'symbolic links are not allowed in a lab' });
      continue;
    }
    if (entry.header.flags & ENCRYPTED_FLAG) {
      problems.push({ path, message: 'encrypted entries are not supported' });
      continue;
    }
    if (accepted.some((other) => other.path === path)) {
      problems.push({ path, message: 'the zip holds this file twice' });
      continue;
    }
    declaredBytes += entry.header.size;
    accepted.push({ path, entry });
  }
  if (accepted.length > MAX_BUNDLE_FILES) problems.push({ path: name, message: TOO_MANY_FILES });
  // Declared sizes are checked before anything is inflated; adm-zip refuses to
  // inflate past the declared size, so a lying header cannot get around this.
  if (declaredBytes > MAX_BUNDLE_BYTES) problems.push({ path: name, message: TOO_MANY_BYTES });
  if (problems.length > 0) return { ok: false, problems };

  const files = new Map<string, Buffer>();
  for (const { path, entry } of accepted) {
    try {
      files.set(path, entry.getData());
    } catch (err) {
      problems.push({ path, message: `cannot unpack (${reason(err)})` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, bundle: { files: unwrapTopFolder(files) } };
}

/** A zip of the bundle, with the lab at the top of the archive. */
export function writeLabZip(bundle: LabBundle): Buffer {
  const zip = new AdmZip();
  for (const path of [...bundle.files.keys()].sort()) zip.addFile(path, bundle.files.get(path)!);
  return zip.toBuffer();
}

function zipPathProblem(path: string): string | undefined {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'absolute paths are not allowed in a lab';
  if (path.split('/').includes('..')) return 'path points outside the lab folder ("..")';
  return bundlePathProblem(path);
}

/** `my-lab/lab.yaml`, `my-lab/pages/…` → `lab.yaml`, `pages/…`, when every file sits in that one folder. */
function unwrapTopFolder(files: Map<string, Buffer>): Map<string, Buffer> {
  if (files.has('lab.yaml')) return files;
  const tops = new Set([...files.keys()].map((path) => path.split('/')[0]));
  const [top] = tops;
  if (tops.size !== 1 || !files.has(`${top}/lab.yaml`)) return files;
  return new Map([...files].map(([path, content]) => [path.slice(`${top}/`.length), content]));
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
