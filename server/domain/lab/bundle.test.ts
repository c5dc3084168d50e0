import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bundleDigest,
  bundlePathProblem,
  type LabBundle,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_FILES,
  readLabFolder,
  writeLabFolder,
} from './bundle.js';

const netBasics = fileURLToPath(new URL('../../../labs/net-basics', import.meta.url));
let scratch: string;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lab-bundle-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function read(folder: string): Promise<LabBundle> {
  const result = await readLabFolder(folder);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.bundle;
}

async function writeTree(folder: string, files: Record<string, string | Buffer>) {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(folder, path, '..'), { recursive: true });
    await writeFile(join(folder, path), content);
  }
}

describe('lab folders', () => {
  it('reads every file with "/" paths, skipping .git and OS litter', async () => {
    await writeTree(scratch, {
      'lab.yaml': 'name: x\n',
      'pages/01.md': '# One\n',
      'assets/img/a.svg': '<svg/>',
      '.git/HEAD': 'ref: refs/heads/main\n',
      'pages/.DS_Store': 'junk',
      '.gitignore': 'tmp\n',
    });
    const bundle = await read(scratch);
    expect([...bundle.files.keys()].sort()).toEqual(['.gitignore', 'assets/img/a.svg', 'lab.yaml', 'pages/01.md']);
    expect(bundle.files.get('pages/01.md')!.toString()).toBe('# One\n');
  });

  it('round-trips: folder → bundle → folder → bundle gives the same files and digest', async () => {
    const first = await read(netBasics);
    await writeLabFolder(first, join(scratch, 'export'));
    const second = await read(join(scratch, 'export'));
    expect(second.files).toEqual(first.files);
    expect(bundleDigest(second)).toBe(bundleDigest(first));
    expect(await readFile(join(scratch, 'export/pages/01-addresses.md'), 'utf8')).toContain('{{user.name}}');
  });

  it('refuses to export into a folder that is not empty', async () => {
    await writeFile(join(scratch, 'other.txt'), 'x');
    await expect(writeLabFolder(await read(netBasics), scratch)).rejects.toThrow(/is not empty/);
  });

  it('refuses to export a bundle with a path that escapes the folder', async () => {
    const evil: LabBundle = { files: new Map([['../evil.txt', Buffer.from('x')]]) };
    await expect(writeLabFolder(evil, join(scratch, 'out'))).rejects.toThrow(/outside the lab folder/);
  });

  it('refuses symbolic links, naming each', async () => {
    await writeTree(scratch, { 'lab.yaml': 'name: x\n' });
    await mkdir(join(scratch, 'assets'));
    await symlink('/etc/passwd', join(scratch, 'assets/passwd'));
    await symlink('/etc', join(scratch, 'etc'));
    const result = await readLabFolder(scratch);
    expect(result.ok ? [] : result.problems).toEqual([
      { path: 'assets/passwd', message: 'symbolic links are not allowed in a lab' },
      { path: 'etc', message: 'symbolic links are not allowed in a lab' },
    ]);
  });

  it('refuses a path that is not a folder', async () => {
    const missing = join(scratch, 'nothing');
    expect(await readLabFolder(missing)).toEqual({ ok: false, problems: [{ path: missing, message: 'not a folder' }] });
  });

  it(`refuses more than ${MAX_BUNDLE_FILES} files`, async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i <= MAX_BUNDLE_FILES; i++) files[`assets/f${i}.txt`] = 'x';
    await writeTree(scratch, files);
    expect(await readLabFolder(scratch)).toEqual({
      ok: false,
      problems: [{ path: scratch, message: 'a lab may hold at most 500 files' }],
    });
  });

  it('refuses more than 20 MiB of files', async () => {
    await writeTree(scratch, {
      'a.bin': Buffer.alloc(MAX_BUNDLE_BYTES / 2),
      'b.bin': Buffer.alloc(MAX_BUNDLE_BYTES / 2 + 1),
    });
    expect(await readLabFolder(scratch)).toEqual({
      ok: false,
      problems: [{ path: scratch, message: 'a lab may hold at most 20 MiB of files (unpacked)' }],
    });
  });
});

describe('bundle paths and digests', () => {
  it.each([
    ['lab.yaml', undefined],
    ['pages/01.md', undefined],
    ['/etc/passwd', 'absolute paths are not allowed in a lab'],
    ['C:/x.md', 'absolute paths are not allowed in a lab'],
    ['a/../../b', 'path points outside the lab folder ("..")'],
    ['a\\b', 'file names must use "/" as separator, not "\\"'],
    ['a//b', 'path has an empty or "." segment'],
    ['./a', 'path has an empty or "." segment'],
    ['', 'empty file name'],
  ])('%j → %s', (path, problem) => {
    expect(bundlePathProblem(path)).toBe(problem);
  });

  it('does not depend on the order files were added, but on every path and byte', () => {
    const a: LabBundle = {
      files: new Map([
        ['x', Buffer.from('1')],
        ['y', Buffer.from('2')],
      ]),
    };
    const b: LabBundle = {
      files: new Map([
        ['y', Buffer.from('2')],
        ['x', Buffer.from('1')],
      ]),
    };
    expect(bundleDigest(a)).toBe(bundleDigest(b));
    expect(bundleDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    const changedByte: LabBundle = {
      files: new Map([
        ['x', Buffer.from('1')],
        ['y', Buffer.from('3')],
      ]),
    };
    const renamed: LabBundle = {
      files: new Map([
        ['x', Buffer.from('1')],
        ['z', Buffer.from('2')],
      ]),
    };
    // Same concatenation of path and content, different split: must differ.
    const shifted: LabBundle = {
      files: new Map([
        ['x1', Buffer.from('')],
        ['y', Buffer.from('2')],
      ]),
    };
    const digests = [a, changedByte, renamed, shifted].map(bundleDigest);
    expect(new Set(digests).size).toBe(4);
  });
});
