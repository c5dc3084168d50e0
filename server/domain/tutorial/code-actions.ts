/**
 * @file Code blocks with actions. The info string of a fence names them after
 * the language:
 *
 *     ```bash run=client      → a button that types the code into the terminal of `client`
 *     ```bash run             → … into the terminal the learner has open
 *     ```text copy            → a button that copies the code to the clipboard
 *     ```bash run=server copy → both
 *
 * The HTML carries data attributes only; the workspace script binds the
 * buttons (`button[data-action]`, then the `<pre>` of the same
 * `.code-action`), so no handler is ever written into the page.
 */
import type MarkdownIt from 'markdown-it';
import type { RenderEnv } from './render-env.js';

export const CODE_ACTIONS = ['run', 'copy'] as const;
export type CodeAction = (typeof CODE_ACTIONS)[number];

export interface FenceInfo {
  language?: string;
  /** `undefined`: no run action; `null`: run in the open terminal; a name: run on that system. */
  run?: string | null;
  copy: boolean;
}

const LANGUAGE = /^[A-Za-z0-9_+#.-]{1,40}$/;
const SYSTEM = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Reads a fence's info string; words it does not know are ignored, as markdown does. */
export function parseFenceInfo(info: string, problems: string[] = []): FenceInfo {
  const result: FenceInfo = { copy: false };
  const words = info.trim().split(/\s+/).filter(Boolean);
  words.forEach((word, i) => {
    if (word === 'copy') result.copy = true;
    else if (word === 'run') result.run = null;
    else if (word.startsWith('run=')) {
      const system = word.slice(4);
      if (SYSTEM.test(system)) result.run = system;
      else problems.push(`code block "${info.trim()}": "${system}" is not a system name`);
    } else if (i === 0 && LANGUAGE.test(word)) result.language = word;
  });
  return result;
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function button(action: CodeAction, system: string | null | undefined): string {
  const target = system ? ` data-system="${system}"` : '';
  const label = action === 'copy' ? 'Copy' : system ? `Run on ${system}` : 'Run';
  return `<button type="button" class="code-action-button" data-action="${action}"${target}>${label}</button>`;
}

export function codeActionsPlugin(md: MarkdownIt): void {
  md.renderer.rules.fence = (tokens, idx, _options, env: RenderEnv) => {
    const token = tokens[idx]!;
    const info = parseFenceInfo(md.utils.unescapeAll(token.info), env.problems);
    if (typeof info.run === 'string' && env.systems !== undefined && !env.systems.includes(info.run)) {
      env.problems.push(`code block "${token.info.trim()}": no system named "${info.run}" in this lab`);
      info.run = undefined;
    }
    const language = info.language ? ` class="language-${escapeHtml(info.language)}"` : '';
    const code = `<code${language}>${escapeHtml(token.content)}</code>`;
    const actions: CodeAction[] = [];
    if (info.run !== undefined) actions.push('run');
    if (info.copy) actions.push('copy');
    if (actions.length === 0) return `<pre>${code}</pre>\n`;

    const system = info.run ? ` data-system="${info.run}"` : '';
    const buttons = actions.map((action) => button(action, action === 'run' ? info.run : undefined)).join('');
    return `<div class="code-action"><pre data-action="${actions.join(' ')}"${system}>${code}</pre>${buttons}</div>\n`;
  };
}
