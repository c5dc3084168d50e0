import { describe, expect, it } from 'vitest';
import { resolveLabLink } from './links.js';

const files = new Set(['pages/01.md', 'pages/02.md', 'pages/img/local.png', 'assets/a b.png', 'assets/x.png']);
const exists = (path: string) => files.has(path);

describe('links in lab markdown', () => {
  it.each([
    ['../assets/x.png', 'assets/x.png'],
    ['assets/x.png', 'assets/x.png'],
    ['img/local.png', 'pages/img/local.png'],
    ['02.md#top', 'pages/02.md'],
    ['./02.md?v=1', 'pages/02.md'],
    ['assets/a%20b.png', 'assets/a b.png'],
  ])('%s from pages/01.md is the lab file %s', (target, path) => {
    expect(resolveLabLink('pages/01.md', target, exists)).toEqual({ kind: 'file', path });
  });

  it.each([
    'https://example.org/x.png',
    'mailto:a@b.c',
    '//cdn.example.org/x.js',
    '#section',
    'data:image/png;base64,AA',
  ])('leaves %s alone', (target) => {
    expect(resolveLabLink('pages/01.md', target, exists)).toEqual({ kind: 'external' });
  });

  it.each([
    ['missing.png', '"missing.png" is not a file of the lab (looked for "pages/missing.png" and "missing.png")'],
    ['/assets/x.png', '"/assets/x.png": links to lab files must be relative'],
    ['../../etc/passwd', '"../../etc/passwd" points outside the lab folder'],
    ['%E0%A4%A', '"%E0%A4%A" is not a valid link'],
  ])('refuses %s', (target, reason) => {
    expect(resolveLabLink('pages/01.md', target, exists)).toEqual({ kind: 'invalid', reason });
  });
});
