/**
 * @file Variables in tutorial markdown (`{{user.name}}`, `{{vars.port}}`, …)
 * without letting a value change the page. Values come from outside the lab
 * author's hands (a learner's name from the LMS), so they never pass through
 * the markdown parser: each reference is swapped for an inert placeholder
 * (letters and digits, which markdown, link normalisation and HTML escaping
 * all leave alone), the page is rendered, and only then is each placeholder
 * replaced by its value with every character that is not a letter or digit
 * written as a character reference. That is inert in text, in quoted and
 * unquoted attributes alike, and the sanitizer still runs afterwards.
 *
 * Only the reserved roots (`user`, `instance`, `systems`, `vars`) are ours:
 * `{{ .Release.Name }}` in a Helm example stays as written. `\{{user.name}}`
 * shows the reference itself (markdown drops the backslash outside code).
 *
 * TODO(lab parser): the catalogue of variables lives in
 * server/domain/lab/variables.ts; this file only needs resolved values.
 */
import { randomBytes } from 'node:crypto';

export const VARIABLE_ROOTS = ['user', 'instance', 'systems', 'vars'] as const;

const REFERENCE = /(\\?)\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

const isReserved = (name: string) => VARIABLE_ROOTS.some((root) => name.startsWith(`${root}.`));

export interface HeldVariables {
  /** The markdown with every known reference replaced by a placeholder. */
  markdown: string;
  /** Names written with a reserved root that have no value (left as written). */
  unknown: string[];
  /** Puts the values into rendered HTML. */
  restore(html: string): string;
}

/** A random run of letters that does not occur in `text`. */
function freshMarker(text: string): string {
  for (;;) {
    const marker = [...randomBytes(12)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
    if (!text.includes(marker)) return marker;
  }
}

/** Every character but ASCII letters and digits as a character reference. */
export function encodeValue(value: string): string {
  return value.replace(/[^A-Za-z0-9]/gu, (c) => `&#x${c.codePointAt(0)!.toString(16)};`);
}

export function holdVariables(markdown: string, values: Readonly<Record<string, string>>): HeldVariables {
  const marker = freshMarker(markdown);
  const used: string[] = [];
  const unknown = new Set<string>();
  const held = markdown.replace(REFERENCE, (whole, backslash: string, name: string) => {
    if (backslash !== '') return whole;
    if (!Object.hasOwn(values, name)) {
      if (isReserved(name)) unknown.add(name);
      return whole;
    }
    used.push(values[name]!);
    return `${marker}${used.length - 1}${marker}`;
  });
  const placeholder = new RegExp(`${marker}(\\d+)${marker}`, 'g');
  return {
    markdown: held,
    unknown: [...unknown],
    restore: (html) => html.replace(placeholder, (_, i: string) => encodeValue(used[Number(i)] ?? '')),
  };
}

/** Names of the variables a markdown text refers to (for validation at import). */
export function referencedVariables(markdown: string): string[] {
  const names = new Set<string>();
  for (const match of markdown.matchAll(REFERENCE)) {
    if (match[1] === '' && isReserved(match[2]!)) names.add(match[2]!);
  }
  return [...names];
}
