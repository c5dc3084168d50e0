/**
 * @file Markdown's image syntax for other media too: `![Demo](assets/demo.mp4)`
 * becomes a `<video controls>` and `![Hint](assets/hint.mp3)` an `<audio
 * controls>`, so authors need no raw HTML for the common case. Where the file
 * may come from is decided later, by the URL policy of the sanitizer.
 */
import type MarkdownIt from 'markdown-it';

const VIDEO = /\.(mp4|webm|ogv|mov)$/i;
const AUDIO = /\.(mp3|ogg|oga|wav|m4a|flac)$/i;

export function mediaKind(src: string): 'video' | 'audio' | 'image' {
  const path = src.split(/[?#]/)[0] ?? '';
  if (VIDEO.test(path)) return 'video';
  if (AUDIO.test(path)) return 'audio';
  return 'image';
}

export function mediaPlugin(md: MarkdownIt): void {
  const image = md.renderer.rules.image!;
  md.renderer.rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const src = token.attrGet('src') ?? '';
    const kind = mediaKind(src);
    if (kind === 'image') return image(tokens, idx, options, env, self);
    const label = self.renderInlineAsText(token.children ?? [], options, env);
    const text = md.utils.escapeHtml;
    return `<${kind} controls src="${text(src)}" title="${text(label)}">${text(label)}</${kind}>`;
  };
}
