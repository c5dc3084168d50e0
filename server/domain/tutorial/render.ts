/**
 * @file Tutorial markdown → safe HTML. The order is the security argument:
 *
 *   1. variables are swapped for inert placeholders (values never meet the
 *      markdown parser);
 *   2. markdown-it renders the page (raw HTML allowed, it is filtered in 4)
 *      with knowledge boxes, media and code actions;
 *   3. placeholders become the values, every special character written as a
 *      character reference;
 *   4. the sanitizer allow-list decides what survives, URLs included.
 *
 * Pure: the caller resolves variables and says where assets are served.
 */
import MarkdownIt from 'markdown-it';
import type { VariableValues } from '../lab/variables.js';
import { boxesPlugin } from './boxes.js';
import { codeActionsPlugin } from './code-actions.js';
import { mediaPlugin } from './media.js';
import { holdVariables } from './placeholders.js';
import type { RenderEnv } from './render-env.js';
import { sanitizePage } from './sanitize.js';
import { pageFolder } from './urls.js';

export interface RenderOptions {
  /** The instance's values for `{{user.name}}`, `{{systems.NAME.password}}`, `{{vars.NAME}}`, …. */
  variables: VariableValues;
  /** URL of a lab file (a path under `assets/`), e.g. `assetUrlUnder('/api/v1/labs/x/versions/3')`. */
  assetUrl: (path: string) => string;
  /** The page's file inside the lab (`pages/01.md`): relative URLs start from its folder. */
  pagePath?: string;
  /** Marked by an admin: remote https media and iframes are allowed. */
  trusted?: boolean;
  /** The lab's system names; when given, `run=NAME` must be one of them. */
  systems?: readonly string[];
}

export interface RenderedHtml {
  html: string;
  /** What the author should fix (unknown variables, refused URLs, unknown systems); empty when clean. */
  problems: string[];
}

const markdown = new MarkdownIt({ html: true, linkify: false, typographer: false })
  .use(boxesPlugin)
  .use(mediaPlugin)
  .use(codeActionsPlugin);

function render(source: string, options: RenderOptions, inline: boolean): RenderedHtml {
  const held = holdVariables(source, options.variables);
  const env: RenderEnv = { systems: options.systems, problems: [] };
  for (const name of held.unknown) env.problems.push(`unknown variable {{${name}}}`);
  const raw = inline ? markdown.renderInline(held.markdown, env) : markdown.render(held.markdown, env);
  const html = sanitizePage(held.restore(raw), {
    trusted: options.trusted ?? false,
    pageDir: pageFolder(options.pagePath),
    assetUrl: options.assetUrl,
    problems: env.problems,
  });
  return { html, problems: env.problems };
}

/** A whole page of a tutorial. */
export function renderPage(source: string, options: RenderOptions): RenderedHtml {
  return render(source, options, false);
}

/** One line without a paragraph around it: a step's text or hint ("Ping `server` from `client`"). */
export function renderInline(source: string, options: RenderOptions): RenderedHtml {
  return render(source, options, true);
}
