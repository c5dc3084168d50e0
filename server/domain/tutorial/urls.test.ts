import { describe, expect, it } from 'vitest';
import { assetUrlUnder, classifyUrl, pageFolder } from './urls.js';

describe('classifyUrl', () => {
  it.each([
    'javascript:alert(1)',
    ' JavaScript:alert(1)',
    'java\tscript:alert(1)',
    'java\nscript:alert(1)',
    '\u0001javascript:alert(1)',
    'data:image/png;base64,AAAA',
    'vbscript:x',
    'file:///etc/passwd',
    '//evil.example/x.png',
    '\\\\evil.example\\x.png',
    '/\\evil.example',
    '/api/v1/instances',
    '?x=1',
    'https:evil.example',
    '',
  ])('refuses %j', (url) => {
    expect(classifyUrl(url, 'pages').kind).toBe('refused');
  });

  it('resolves lab files against the page folder, then the lab folder', () => {
    expect(classifyUrl('../assets/a.png', 'pages')).toEqual({ kind: 'asset', path: 'assets/a.png', fragment: '' });
    expect(classifyUrl('assets/a.png', 'pages')).toEqual({ kind: 'asset', path: 'assets/a.png', fragment: '' });
    expect(classifyUrl('./assets/img/a%20b.png?x=1#t=3', '')).toEqual({
      kind: 'asset',
      path: 'assets/img/a b.png',
      fragment: '#t=3',
    });
  });

  it('keeps learners out of the rest of the lab folder', () => {
    for (const url of [
      '../lab.yaml',
      'assets/../lab.yaml',
      'assets/',
      'pages/01.md',
      '../../etc/passwd',
      'assets/%2e%2e/lab.yaml',
      'assets/%zz.png',
      'assets\\a.png',
    ])
      expect(classifyUrl(url, 'pages').kind, url).toBe('refused');
  });

  it('classifies remote, mail and fragment URLs', () => {
    expect(classifyUrl('https://a.example/x', '')).toEqual({
      kind: 'remote',
      url: 'https://a.example/x',
      secure: true,
    });
    expect(classifyUrl('HTTP://a.example/', '')).toMatchObject({ kind: 'remote', secure: false });
    expect(classifyUrl('mailto:a@b.example', '')).toEqual({ kind: 'mailto', url: 'mailto:a@b.example' });
    expect(classifyUrl('#top', '')).toEqual({ kind: 'fragment', url: '#top' });
  });
});

describe('helpers', () => {
  it('finds the folder of a page', () => {
    expect(pageFolder('pages/01.md')).toBe('pages');
    expect(pageFolder('01.md')).toBe('');
    expect(pageFolder(undefined)).toBe('');
  });

  it('encodes each path segment of an asset URL', () => {
    expect(assetUrlUnder('/api/v1/labs/x/versions/2')('assets/a b/#1?.png')).toBe(
      '/api/v1/labs/x/versions/2/assets/a%20b/%231%3F.png',
    );
    expect(assetUrlUnder('/base/')('assets/a.png')).toBe('/base/assets/a.png');
  });
});
