import { describe, expect, it } from 'vitest';
import type { VariableValues } from '../lab/variables.js';
import { type RenderOptions, renderInline, renderPage } from './render.js';
import { assetUrlUnder } from './urls.js';

const variables: VariableValues = {
  user: { name: 'Ann Example' },
  instance: { id: 'i-42' },
  systems: { server: { user: 'student', password: 'p&ss<w>rd"' }, client: {} },
  vars: { port: '8080' },
};
const withValues = (changes: Partial<VariableValues>) => ({ variables: { ...variables, ...changes } });

const options: RenderOptions = {
  variables,
  assetUrl: assetUrlUnder('/api/v1/labs/net-101/versions/3'),
  pagePath: 'pages/01-reach.md',
  systems: ['client', 'server'],
};

const page = (markdown: string, extra: Partial<RenderOptions> = {}) => renderPage(markdown, { ...options, ...extra });

describe('variables', () => {
  it('substitutes every kind of variable', () => {
    const { html, problems } = page(
      'Hello {{user.name}}, log in as {{ systems.server.user }} on {{instance.id}} port {{vars.port}}.',
    );
    expect(html).toBe('<p>Hello Ann Example, log in as student on i-42 port 8080.</p>\n');
    expect(problems).toEqual([]);
  });

  it('escapes values and keeps them out of markdown', () => {
    const { html } = page(
      '**{{systems.server.password}}** and `{{systems.server.password}}`',
      withValues({ systems: { server: { password: '*a* <b>b</b> [l](https://x.example) &amp;' } } }),
    );
    expect(html).toBe(
      '<p><strong>*a* &lt;b&gt;b&lt;/b&gt; [l](https://x.example) &amp;amp;</strong> and ' +
        '<code>*a* &lt;b&gt;b&lt;/b&gt; [l](https://x.example) &amp;amp;</code></p>\n',
    );
  });

  it('substitutes inside code blocks, so "run" types the real value', () => {
    const { html } = page('```bash run=client\nssh {{systems.server.user}}@server -p {{vars.port}}\n```');
    expect(html).toContain('<code class="language-bash">ssh student@server -p 8080\n</code>');
  });

  it('reports a variable without a value and leaves it as written', () => {
    const { html, problems } = page('Mail {{user.email}}, {{systems.nope.user}}, {{systems.client.password}}');
    expect(html).toBe('<p>Mail {{user.email}}, {{systems.nope.user}}, {{systems.client.password}}</p>\n');
    expect(problems).toEqual([
      'unknown variable {{user.email}}',
      'unknown variable {{systems.nope.user}}',
      'unknown variable {{systems.client.password}}',
    ]);
  });

  it('leaves Go templates alone', () => {
    const { html, problems } = page('```yaml\nname: {{ .Release.Name }}\n```');
    expect(html).toContain('name: {{ .Release.Name }}');
    expect(problems).toEqual([]);
  });

  it('shows a reference literally when a brace is written as a character reference', () => {
    expect(page('Write &#123;{user.name}} to greet.').html).toBe('<p>Write {{user.name}} to greet.</p>\n');
  });

  it('never expands a variable inside a value', () => {
    const { html } = page('{{user.name}}', withValues({ user: { name: '{{vars.port}}' } }));
    expect(html).toBe('<p>{{vars.port}}</p>\n');
  });
});

describe('knowledge boxes', () => {
  it.each([
    ['NOTE', 'note', 'Note'],
    ['TIP', 'tip', 'Tip'],
    ['IMPORTANT', 'important', 'Important'],
    ['WARNING', 'warning', 'Warning'],
    ['CAUTION', 'caution', 'Caution'],
    ['info', 'info', 'Info'],
  ])('renders [!%s] as an aside', (marker, kind, title) => {
    const { html } = page(`> [!${marker}]\n> Use \`ip -br a\`.\n> Second line.`);
    expect(html).toBe(
      `<aside class="box box-${kind}">\n<p class="box-title">${title}</p>\n` +
        '<p>Use <code>ip -br a</code>.\nSecond line.</p>\n</aside>\n',
    );
  });

  it('keeps later paragraphs, lists and code inside the box', () => {
    const { html } = page('> [!WARNING]\n> First.\n>\n> - one\n> - two\n>\n> ```\n> rm -rf /tmp/x\n> ```\n\nAfter.');
    expect(html).toMatch(
      /^<aside class="box box-warning">[\s\S]*<li>two<\/li>[\s\S]*rm -rf \/tmp\/x[\s\S]*<\/aside>\n<p>After.<\/p>/,
    );
  });

  it('accepts text on the marker line and drops an empty first paragraph', () => {
    expect(page('> [!TIP] Short tip.').html).toContain('<p class="box-title">Tip</p>\n<p>Short tip.</p>');
    expect(page('> [!TIP]\n>\n> Later.').html).toMatch(
      /^<aside class="box box-tip">\n<p class="box-title">Tip<\/p>\n+<p>Later.<\/p>\n<\/aside>\n$/,
    );
  });

  it('takes a list that follows the marker directly', () => {
    expect(page('> [!NOTE]\n> - one\n> - two').html).toMatch(
      /^<aside class="box box-note">\n<p class="box-title">Note<\/p>\n+<ul>\n<li>one<\/li>\n<li>two<\/li>\n<\/ul>\n<\/aside>\n$/,
    );
  });

  it('leaves an ordinary quote and an unknown kind as a quote', () => {
    expect(page('> Just a quote').html).toBe('<blockquote>\n<p>Just a quote</p>\n</blockquote>\n');
    expect(page('> [!FOO]\n> text').html).toBe('<blockquote>\n<p>[!FOO]\ntext</p>\n</blockquote>\n');
  });

  it('handles a box nested in a quote', () => {
    const { html } = page('> outer\n>\n> > [!NOTE]\n> > inner');
    expect(html).toMatch(
      /^<blockquote>[\s\S]*<aside class="box box-note">[\s\S]*inner[\s\S]*<\/aside>\n<\/blockquote>/,
    );
  });
});

describe('media and links', () => {
  it('rewrites lab assets relative to the page or the lab folder', () => {
    const { html, problems } = page('![Net](../assets/net.png) ![Net](assets/net%20map.png "Map")');
    expect(html).toBe(
      '<p><img src="/api/v1/labs/net-101/versions/3/assets/net.png" alt="Net" /> ' +
        '<img src="/api/v1/labs/net-101/versions/3/assets/net%20map.png" alt="Net" title="Map" /></p>\n',
    );
    expect(problems).toEqual([]);
  });

  it('renders video and audio files given with image syntax', () => {
    const { html } = page('![Demo](assets/demo.mp4) ![Hint](assets/hint.mp3)');
    expect(html).toContain(
      '<video controls src="/api/v1/labs/net-101/versions/3/assets/demo.mp4" title="Demo">Demo</video>',
    );
    expect(html).toContain(
      '<audio controls src="/api/v1/labs/net-101/versions/3/assets/hint.mp3" title="Hint">Hint</audio>',
    );
  });

  it('rewrites raw HTML media and their sources', () => {
    const { html } = page(
      '<video controls poster="assets/p.png"><source src="assets/v.webm" type="video/webm"></video>',
    );
    expect(html).toBe(
      '<p><video controls poster="/api/v1/labs/net-101/versions/3/assets/p.png">' +
        '<source src="/api/v1/labs/net-101/versions/3/assets/v.webm" type="video/webm" /></video></p>\n',
    );
  });

  it('refuses files outside assets/, with a problem for the author', () => {
    const { html, problems } = page('![x](../lab.yaml) ![y](assets/../../etc/passwd) ![z](/etc/passwd)');
    expect(html).toBe('<p>  </p>\n');
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe('img "../lab.yaml": "../lab.yaml" is not a file under assets/ of the lab');
  });

  it('drops remote media unless the lab is trusted, and then needs https', () => {
    const remote = '![a](https://cdn.example/a.png) ![b](http://cdn.example/b.png)';
    expect(page(remote).html).toBe('<p> </p>\n');
    expect(page(remote).problems[0]).toMatch(/remote media is allowed only in a lab an admin marked trusted/);
    const trusted = page(remote, { trusted: true });
    expect(trusted.html).toBe('<p><img alt="a" src="https://cdn.example/a.png" /> </p>\n');
    expect(trusted.problems).toEqual(['img "http://cdn.example/b.png": remote media must use https']);
  });

  it('allows https iframes, sandboxed, only in a trusted lab', () => {
    const embed = '<iframe src="https://video.example/embed/1" width="560" onload="x()">fallback</iframe>';
    expect(page(embed).html).toBe('');
    expect(page(embed).problems).toEqual(['iframe "https://video.example/embed/1": iframes need a trusted lab']);
    expect(page(embed, { trusted: true }).html).toBe(
      '<iframe src="https://video.example/embed/1" width="560" ' +
        'sandbox="allow-scripts allow-same-origin allow-popups allow-presentation" loading="lazy" ' +
        'referrerpolicy="strict-origin-when-cross-origin">fallback</iframe>',
    );
    expect(page('<iframe src="http://video.example/"></iframe>', { trusted: true }).html).not.toMatch(/iframe|video/);
    expect(page('<object data="https://x.example/a.swf"></object>', { trusted: true }).html).not.toMatch(/object|swf/);
  });

  it('opens remote links and assets in a new tab, keeps mail and fragments', () => {
    const { html } = page('[a](https://man7.org/) [b](assets/notes.txt#l2) [c](mailto:help@example.org) [d](#top)');
    expect(html).toBe(
      '<p><a href="https://man7.org/" target="_blank" rel="noopener noreferrer">a</a> ' +
        '<a href="/api/v1/labs/net-101/versions/3/assets/notes.txt#l2" target="_blank" rel="noopener noreferrer">b</a> ' +
        '<a href="mailto:help@example.org">c</a> <a href="#top">d</a></p>\n',
    );
  });

  it('keeps the text of a refused link', () => {
    const { html, problems } = page('<a href="javascript:alert(1)">click</a>');
    expect(html).toBe('<p><a>click</a></p>\n');
    expect(problems).toEqual(['link "javascript:alert(1)": the "javascript:" scheme is not allowed']);
  });
});

describe('tables, code and headings', () => {
  it('renders tables with alignment as the only style', () => {
    const { html } = page('| cmd | what |\n|:---|---:|\n| `ip a` | addresses |');
    expect(html).toContain('<th style="text-align:left">cmd</th>');
    expect(html).toContain('<td style="text-align:right">addresses</td>');
  });

  it('gives code a language class and keeps headings and lists', () => {
    const { html } = page('## Step 1\n\n1. one\n2. two\n\n```python\nprint("<hi>")\n```');
    expect(html).toBe(
      '<h2>Step 1</h2>\n<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n' +
        '<pre><code class="language-python">print("&lt;hi&gt;")\n</code></pre>\n',
    );
  });

  it('keeps details/summary for spoilers', () => {
    expect(page('<details><summary>Solution</summary>\n\n`ping server`\n\n</details>').html).toBe(
      '<details><summary>Solution</summary>\n<p><code>ping server</code></p>\n</details>',
    );
  });
});

describe('code actions', () => {
  it('renders run and copy as data attributes and buttons, no handlers', () => {
    const { html, problems } = page('```bash run=client copy\nping -c1 server\n```');
    expect(html).toBe(
      '<div class="code-action"><pre data-action="run copy" data-system="client">' +
        '<code class="language-bash">ping -c1 server\n</code></pre>' +
        '<button type="button" class="code-action-button" data-action="run" data-system="client">Run on client</button>' +
        '<button type="button" class="code-action-button" data-action="copy">Copy</button></div>\n',
    );
    expect(problems).toEqual([]);
  });

  it('runs in the open terminal when no system is named', () => {
    const { html } = page('```run\nls\n```');
    expect(html).toBe(
      '<div class="code-action"><pre data-action="run"><code>ls\n</code></pre>' +
        '<button type="button" class="code-action-button" data-action="run">Run</button></div>\n',
    );
  });

  it('copies without a language', () => {
    expect(page('```copy\nsecret\n```').html).toContain('<pre data-action="copy"><code>secret\n</code></pre>');
  });

  it('refuses a system the lab does not have, keeping the code', () => {
    const { html, problems } = page('```bash run=db copy\nls\n```');
    expect(html).toContain('<pre data-action="copy"><code class="language-bash">ls');
    expect(html).not.toContain('data-system');
    expect(problems).toEqual(['code block "bash run=db copy": no system named "db" in this lab']);
  });

  it('accepts any system name when the caller gives no list', () => {
    expect(page('```sh run=db\nls\n```', { systems: undefined }).html).toContain('data-system="db"');
  });

  it('forces raw HTML buttons to type=button', () => {
    expect(page('<button type="submit" data-action="copy">x</button>').html).toBe(
      '<p><button type="button" data-action="copy">x</button></p>\n',
    );
  });
});

describe('the whole page', () => {
  it('renders the same input the same way, with no trace of placeholders', () => {
    const source = '# {{user.name}}\n\n[x](assets/{{vars.port}}.txt) `{{instance.id}}`';
    const first = page(source).html;
    expect(page(source).html).toBe(first);
    expect(first).toBe(
      '<h1>Ann Example</h1>\n<p><a href="/api/v1/labs/net-101/versions/3/assets/8080.txt" target="_blank" ' +
        'rel="noopener noreferrer">x</a> <code>i-42</code></p>\n',
    );
  });

  it('does not turn bare file names into links', () => {
    expect(page('Run backup.sh, then see example.com').html).toBe('<p>Run backup.sh, then see example.com</p>\n');
  });
});

describe('inline rendering', () => {
  it('renders a step text without a paragraph', () => {
    expect(renderInline('Ping `server` from **{{systems.server.user}}**', options).html).toBe(
      'Ping <code>server</code> from <strong>student</strong>',
    );
  });
});
