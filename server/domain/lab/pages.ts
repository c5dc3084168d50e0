/**
 * @file Checks that reach past lab.yaml into the other files of the bundle:
 * each tutorial page's markdown file exists and is text, its links and images
 * are ones the tutorial renderer accepts (server/domain/tutorial/urls.ts) and
 * the assets they name exist, and every `{{variable}}` in the pages and step texts
 * is one the lab offers. Reads lab.yaml's data as `unknown` because it runs even
 * when the schema found problems elsewhere: one pass lists every problem.
 */
import MarkdownIt, { type Token } from 'markdown-it';
import { classifyUrl, pageFolder } from '../tutorial/urls.js';
import type { LabBundle } from './bundle.js';
import type { FieldPath } from './issues.js';
import { formatFieldPath } from './issues.js';
import { decodeText, type LabProblem } from './problems.js';
import { isLabFilePath } from './schema.js';
import { findVariables, unknownVariableReason, type VariableScope } from './variables.js';
import type { LineOf } from './yaml-lines.js';

const markdown = new MarkdownIt({ html: true });

export function checkTutorialFiles(bundle: LabBundle, lab: unknown, labFile: string, lineOf: LineOf): LabProblem[] {
  const problems: LabProblem[] = [];
  const scope = variableScope(lab);
  const checkedBodies = new Set<string>();
  const atField = (path: FieldPath, message: string) =>
    problems.push({ file: labFile, line: lineOf(path), field: formatFieldPath(path), message });

  listAt(field(lab, 'tutorial'), 'pages').forEach((page, p) => {
    const body = field(page, 'body');
    if (typeof body === 'string' && !checkedBodies.has(body)) {
      checkedBodies.add(body);
      const bytes = bundle.files.get(body);
      if (bytes === undefined) {
        // A malformed path is reported by the schema; only a well-formed one can be "not there".
        if (isLabFilePath(body)) {
          atField(['tutorial', 'pages', p, 'body'], `file "${body}" is not in the lab`);
        }
      } else {
        problems.push(...checkMarkdown(body, bytes, bundle, scope));
      }
    }
    listAt(page, 'steps').forEach((step, s) => {
      for (const key of ['text', 'hint']) {
        const text = field(step, key);
        if (typeof text !== 'string') continue;
        for (const use of findVariables(text)) {
          const reason = unknownVariableReason(use.name, scope);
          if (reason !== undefined) atField(['tutorial', 'pages', p, 'steps', s, key], reason);
        }
      }
    });
  });
  return problems;
}

function checkMarkdown(file: string, bytes: Buffer, bundle: LabBundle, scope: VariableScope): LabProblem[] {
  const text = decodeText(bytes);
  if (text === undefined) return [{ file, message: 'not UTF-8 text' }];
  const problems: LabProblem[] = [];
  for (const use of findVariables(text)) {
    const reason = unknownVariableReason(use.name, scope);
    if (reason !== undefined) problems.push({ file, line: use.line, message: reason });
  }
  // The renderer's own rule decides what a link may be, so a lab that passes
  // here renders without refused links; existence is what only a bundle can tell.
  for (const link of markdownLinks(text)) {
    const target = classifyUrl(link.target, pageFolder(file));
    if (target.kind === 'refused') problems.push({ file, line: link.line, message: target.reason });
    else if (target.kind === 'asset' && !bundle.files.has(target.path)) {
      problems.push({ file, line: link.line, message: `"${link.target}": no file "${target.path}" in the lab` });
    }
  }
  return problems;
}

const HTML_LINK = /\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)')/gi;

/** Targets of images, links and HTML `src`/`href` in markdown, with the line they are on (1-based). */
export function markdownLinks(text: string): { target: string; line: number }[] {
  const lines = text.split('\n');
  const found: { target: string; line: number }[] = [];
  const add = (target: string | null, map: Token['map']) => {
    if (!target) return;
    const [start, end] = map ?? [0, lines.length];
    const raw = safeDecode(target);
    const offset = lines.slice(start, end).findIndex((line) => line.includes(target) || line.includes(raw));
    found.push({ target, line: start + Math.max(offset, 0) + 1 });
  };
  for (const token of markdown.parse(text, {})) {
    if (token.type === 'html_block') for (const target of htmlTargets(token.content)) add(target, token.map);
    for (const child of token.children ?? []) {
      if (child.type === 'image') add(child.attrGet('src'), token.map);
      else if (child.type === 'link_open') add(child.attrGet('href'), token.map);
      else if (child.type === 'html_inline') for (const target of htmlTargets(child.content)) add(target, token.map);
    }
  }
  return found;
}

function htmlTargets(html: string): string[] {
  return [...html.matchAll(HTML_LINK)].map((match) => match[1] ?? match[2] ?? '');
}

function safeDecode(text: string): string {
  try {
    return decodeURI(text);
  } catch {
    return text;
  }
}

function variableScope(lab: unknown): VariableScope {
  const systems = listAt(lab, 'systems').flatMap((system) => {
    const name = field(system, 'name');
    return typeof name === 'string' ? [{ name, hasUser: isRecord(field(system, 'user')) }] : [];
  });
  const variables = field(lab, 'variables');
  return { systems, vars: isRecord(variables) ? Object.keys(variables) : [] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

function listAt(value: unknown, key: string): unknown[] {
  const list = field(value, key);
  return Array.isArray(list) ? list : [];
}
