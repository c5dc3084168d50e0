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
 * Which names exist is the lab's catalogue (server/domain/lab/variables.ts),
 * shared with the validator that refuses unknown names at import.
 */
import { randomBytes } from 'node:crypto';
import { substituteVariables, VARIABLE_PATTERN, type VariableValues, variableValue } from '../lab/variables.js';

export interface HeldVariables {
  /** The markdown with every known reference replaced by a placeholder. */
  markdown: string;
  /** Names without a value (left as written; the validator refuses them at import). */
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

export function holdVariables(markdown: string, values: VariableValues): HeldVariables {
  const marker = freshMarker(markdown);
  const used: string[] = [];
  const held = substituteVariables(markdown, values, (value) => {
    used.push(value);
    return `${marker}${used.length - 1}${marker}`;
  });
  const unknown = new Set<string>();
  for (const match of markdown.matchAll(VARIABLE_PATTERN)) {
    if (variableValue(match[1]!, values) === undefined) unknown.add(match[1]!);
  }
  const placeholder = new RegExp(`${marker}(\\d+)${marker}`, 'g');
  return {
    markdown: held,
    unknown: [...unknown],
    restore: (html) => html.replace(placeholder, (_, i: string) => encodeValue(used[Number(i)] ?? '')),
  };
}
