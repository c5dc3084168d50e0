/**
 * @file Knowledge boxes in GitHub's alert syntax, so a page reads the same on
 * a Git forge and in the workspace:
 *
 *     > [!TIP]
 *     > `ip -br a` lists addresses in one line per interface.
 *
 * becomes `<aside class="box box-tip"><p class="box-title">Tip</p><p>…</p></aside>`.
 * An unknown kind (`> [!FOO]`) stays a plain quote, as on GitHub.
 */
import type { default as MarkdownIt, StateCore } from 'markdown-it';

export const BOX_KINDS = {
  note: 'Note',
  info: 'Info',
  tip: 'Tip',
  important: 'Important',
  warning: 'Warning',
  caution: 'Caution',
} as const;
export type BoxKind = keyof typeof BOX_KINDS;

const MARKER = /^\[!([A-Za-z]+)\][ \t]*(?:\r?\n|$)?/;

function isBoxKind(word: string): word is BoxKind {
  return Object.hasOwn(BOX_KINDS, word);
}

/** Runs between block and inline parsing, so the marker is gone before inline rules see `[!TIP]`. */
function markBoxes(state: StateCore): void {
  const tokens = state.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const open = tokens[i]!;
    const paragraph = tokens[i + 1];
    const inline = tokens[i + 2];
    if (open.type !== 'blockquote_open' || paragraph?.type !== 'paragraph_open' || inline?.type !== 'inline') continue;
    const match = MARKER.exec(inline.content);
    const kind = match?.[1]?.toLowerCase();
    if (match === null || kind === undefined || !isBoxKind(kind)) continue;

    const close = tokens.findIndex((t, j) => j > i && t.type === 'blockquote_close' && t.level === open.level);
    if (close < 0) continue;
    open.tag = 'aside';
    open.attrSet('class', `box box-${kind}`);
    tokens[close]!.tag = 'aside';

    inline.content = inline.content.slice(match[0].length);
    if (inline.content.trim() === '') {
      paragraph.hidden = true;
      tokens[i + 3]!.hidden = true;
    }

    const titleOpen = new state.Token('paragraph_open', 'p', 1);
    titleOpen.attrSet('class', 'box-title');
    titleOpen.block = true;
    const title = new state.Token('inline', '', 0);
    title.content = BOX_KINDS[kind];
    title.children = [];
    const titleClose = new state.Token('paragraph_close', 'p', -1);
    titleClose.block = true;
    tokens.splice(i + 1, 0, titleOpen, title, titleClose);
  }
}

export function boxesPlugin(md: MarkdownIt): void {
  md.core.ruler.after('block', 'tutorial_boxes', markBoxes);
}
