/**
 * @file A problem found in a lab, kept as parts (file, line, field) until the
 * end so the list can be sorted by where it points, then written as a Problem
 * whose path reads `lab.yaml:14 systems[1].consoles[0]` or `pages/01.md:7`.
 */
import type { Problem } from '../../errors.js';

export interface LabProblem {
  file: string;
  /** 1-based; absent when the problem is about the whole file. */
  line?: number;
  /** Field path inside lab.yaml, such as `systems[1].consoles[0]`. */
  field?: string;
  message: string;
}

export function toProblems(found: LabProblem[], mainFile: string): Problem[] {
  const rank = (p: LabProblem) => (p.file === mainFile ? '' : p.file);
  return [...found]
    .sort((a, b) => rank(a).localeCompare(rank(b)) || (a.line ?? 0) - (b.line ?? 0))
    .map((p) => ({
      path: `${p.file}${p.line === undefined ? '' : `:${p.line}`}${p.field ? ` ${p.field}` : ''}`,
      message: p.message,
    }));
}

/** Bytes as UTF-8 text, or undefined when they are not (a binary file where text was expected). */
export function decodeText(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return undefined;
  }
}
