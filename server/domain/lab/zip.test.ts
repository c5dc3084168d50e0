import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';
import { describe, expect, it } from 'vitest';
import { bundleDigest, type LabBundle, MAX_BUNDLE_BYTES, MAX_BUNDLE_FILES, readLabFolder } from './bundle.js';
import { parseLab } from './parse.js';
import { readLabZip, writeLabZip } from './zip.js';

const labFolder = fileURLToPath(new URL('../../../labs/vm-and-container', import.meta.url));

async function exampleBundle(): Promise<LabBundle> {
  const result = await readLabFolder(labFolder);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.bundle;
}

interface Entry {
  name: string;
  content?: string | Buffer;
  /** Unix mode with file type, e.g. 0o120777 for a symbolic link. */
  mode?: number;
}

/**
 * A zip with exactly these entry names. adm-zip cleans names such as "../x" when
 * adding, so hostile names are written as same-length placeholders and patched
 * in the bytes afterwards (the name is not covered by any checksum).
 */
function zipOf(entries: Entry[]): Buffer {
  const zip = new AdmZip();
  const renames: [string, string][] = [];
  entries.forEach((entry, i) => {
    const placeholder = `${String(i).padStart(3, '0')}${'q'.repeat(Math.max(0, entry.name.length - 3))}`;
    const name = entry.name.length >= 3 && entry.name !== placeholder ? placeholder : entry.name;
    if (name !== entry.name) renames.push([name, entry.name]);
    zip.addFile(name, Buffer.from(entry.content ?? 'x'));
    if (entry.mode !== undefined) zip.getEntry(name)!.header.attr = (entry.mode << 16) >>> 0;
  });
  let bytes = zip.toBuffer();
  for (const [from, to] of renames) bytes = replaceAll(bytes, Buffer.from(from), Buffer.from(to));
  return bytes;
}

function replaceAll(haystack: Buffer, from: Buffer, to: Buffer): Buffer {
  const out = Buffer.from(haystack);
  for (let at = out.indexOf(from); at !== -1; at = out.indexOf(from, at + to.length)) to.copy(out, at);
  return out;
}

describe('lab zips', () => {
  it('round-trips: folder → bundle → zip → bundle gives the same files and a valid lab', async () => {
    const bundle = await exampleBundle();
    const back = readLabZip(writeLabZip(bundle));
    if (!back.ok) throw new Error(JSON.stringify(back.problems));
    expect(back.bundle.files).toEqual(bundle.files);
    expect(bundleDigest(back.bundle)).toBe(bundleDigest(bundle));
    expect(parseLab(back.bundle).ok).toBe(true);
  });

  it('accepts a lab wrapped in one top-level folder, as "compress folder" makes it', async () => {
    const bundle = await exampleBundle();
    const zip = new AdmZip();
    zip.addFile('vm-and-container/', Buffer.alloc(0));
    for (const [path, content] of bundle.files) zip.addFile(`vm-and-container/${path}`, content);
    zip.addFile('__MACOSX/vm-and-container/._lab.yaml', Buffer.from('junk'));
    const back = readLabZip(zip.toBuffer());
    if (!back.ok) throw new Error(JSON.stringify(back.problems));
    expect(bundleDigest(back.bundle)).toBe(bundleDigest(bundle));
  });

  it('keeps a top-level folder that holds no lab.yaml (the parser then says what is missing)', () => {
    const back = readLabZip(zipOf([{ name: 'docs/readme.md' }]));
    expect(back.ok && [...back.bundle.files.keys()]).toEqual(['docs/readme.md']);
  });

  it.each([
    ['an empty file', Buffer.alloc(0)],
    ['text', Buffer.from('name: not a zip\n')],
    [
      'a truncated zip',
      writeLabZip({ files: new Map([['lab.yaml', Buffer.from('name: x\n'.repeat(50))]]) }).subarray(0, 60),
    ],
  ])('refuses %s with a problem, not a crash', (_what, bytes) => {
    const result = readLabZip(bytes, 'upload.zip');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]!.path).toBe('upload.zip');
      expect(result.problems[0]!.message).toMatch(/^not a readable zip archive \(.+\)$/);
    }
  });

  it('refuses zip-slip and absolute names, each named', () => {
    const result = readLabZip(
      zipOf([
        { name: 'lab.yaml' },
        { name: '../evil.sh' },
        { name: 'pages/../../x.md' },
        { name: '..\\win.txt' },
        { name: '/etc/cron.d/x' },
        { name: 'C:/boot.ini' },
      ]),
    );
    expect(result.ok ? [] : result.problems).toEqual([
      { path: '../evil.sh', message: 'path points outside the lab folder ("..")' },
      { path: 'pages/../../x.md', message: 'path points outside the lab folder ("..")' },
      { path: '..\\win.txt', message: 'path points outside the lab folder ("..")' },
      { path: '/etc/cron.d/x', message: 'absolute paths are not allowed in a lab' },
      { path: 'C:/boot.ini', message: 'absolute paths are not allowed in a lab' },
    ]);
  });

  it('refuses a zip that holds the same file twice', () => {
    const same = readLabZip(
      zipOf([
        { name: 'lab.yaml', content: 'a' },
        { name: 'lab.yaml', content: 'b' },
      ]),
    );
    expect(same.ok ? [] : same.problems).toEqual([
      { path: 'lab.zip', message: 'not a readable zip archive (ADM-ZIP: Duplicate entry name "lab.yaml")' },
    ]);
    const separators = readLabZip(zipOf([{ name: 'pages/01.md' }, { name: 'pages\\01.md' }]));
    expect(separators.ok ? [] : separators.problems).toEqual([
      { path: 'pages/01.md', message: 'the zip holds this file twice' },
    ]);
  });

  it('refuses symbolic links', () => {
    const result = readLabZip(
      zipOf([{ name: 'lab.yaml' }, { name: 'assets/passwd', content: '/etc/passwd', mode: 0o120777 }]),
    );
    expect(result.ok ? [] : result.problems).toEqual([
      { path: 'assets/passwd', message: 'symbolic links are not allowed in a lab' },
    ]);
  });

  it(`refuses more than ${MAX_BUNDLE_FILES} files`, () => {
    const entries = Array.from({ length: MAX_BUNDLE_FILES + 1 }, (_, i) => ({ name: `f/${i}.txt` }));
    expect(readLabZip(zipOf(entries), 'big.zip')).toEqual({
      ok: false,
      problems: [{ path: 'big.zip', message: 'a lab may hold at most 500 files' }],
    });
  });

  it('refuses more than 20 MiB unpacked, however small the zip', () => {
    const bytes = zipOf([{ name: 'lab.yaml' }, { name: 'zeros.bin', content: Buffer.alloc(MAX_BUNDLE_BYTES) }]);
    expect(bytes.length).toBeLessThan(100_000);
    expect(readLabZip(bytes, 'bomb.zip')).toEqual({
      ok: false,
      problems: [{ path: 'bomb.zip', message: 'a lab may hold at most 20 MiB of files (unpacked)' }],
    });
  });

  it('refuses an entry whose data is damaged', () => {
    const bytes = zipOf([{ name: 'lab.yaml', content: 'name: damaged\ntitle: Damaged\n'.repeat(20) }]);
    // The first local header starts at 0: 30 fixed bytes, the name, the extra field, then the data.
    const dataStart = 30 + bytes.readUInt16LE(26) + bytes.readUInt16LE(28);
    const compressedSize = bytes.readUInt32LE(18);
    bytes[dataStart + Math.floor(compressedSize / 2)]! ^= 0xff;
    const result = readLabZip(bytes);
    expect(result.ok ? [] : result.problems).toEqual([
      { path: 'lab.yaml', message: expect.stringMatching(/^cannot unpack \(.+\)$/) },
    ]);
  });
});
