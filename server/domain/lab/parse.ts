/**
 * @file A lab from its files: lab.yaml through the schema, then the checks that
 * span files (pages, links, variables). Pure: it reads a LabBundle, never the
 * disk. An invalid lab gives every problem at once, each naming file, line and
 * field (`lab.yaml:14 systems[1].consoles[0]: expected "terminal" or "desktop"`),
 * so an author fixes a lab in one round, not one error per round.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { Problem } from '../../errors.js';
import type { LabBundle } from './bundle.js';
import { formatFieldPath, knownKeysAt, labErrorMap, unknownKeyMessage } from './issues.js';
import { checkTutorialFiles } from './pages.js';
import { decodeText, type LabProblem, toProblems } from './problems.js';
import { type LabDefinition, labSchema } from './schema.js';
import { type LineOf, yamlLineLocator } from './yaml-lines.js';

/** The file that defines a lab, at the top of its folder. */
export const LAB_FILE = 'lab.yaml';

export type ParseResult = { ok: true; lab: LabDefinition; bundle: LabBundle } | { ok: false; problems: Problem[] };

export function parseLab(bundle: LabBundle): ParseResult {
  const fail = (found: LabProblem[]): ParseResult => ({ ok: false, problems: toProblems(found, LAB_FILE) });
  const bytes = bundle.files.get(LAB_FILE);
  if (bytes === undefined) {
    return fail([{ file: LAB_FILE, message: 'missing: a lab needs a lab.yaml at the top of its folder' }]);
  }
  const text = decodeText(bytes);
  if (text === undefined) return fail([{ file: LAB_FILE, message: 'not UTF-8 text' }]);

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  // Schema problems on a document that did not parse would be noise: syntax first.
  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((error) => ({
        file: LAB_FILE,
        // An error found at the end of the text (an unclosed quote) belongs to its last line.
        line: lineCounter.linePos(Math.min(error.pos[0], Math.max(0, text.length - 1))).line,
        message: `YAML syntax: ${error.message}`,
      })),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return fail([{ file: LAB_FILE, message: `YAML: ${err instanceof Error ? err.message : String(err)}` }]);
  }

  const lineOf = yamlLineLocator(doc, lineCounter);
  const problems: LabProblem[] = [];
  const result = labSchema.safeParse(data, { error: labErrorMap });
  if (!result.success) problems.push(...result.error.issues.flatMap((issue) => schemaProblems(issue, lineOf)));
  problems.push(...checkTutorialFiles(bundle, data, LAB_FILE, lineOf));
  if (!result.success || problems.length > 0) return fail(problems);
  return { ok: true, lab: result.data, bundle };
}

function schemaProblems(issue: z.core.$ZodIssue, lineOf: LineOf): LabProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(labSchema, issue.path);
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return {
        file: LAB_FILE,
        line: lineOf(path),
        field: formatFieldPath(path),
        message: unknownKeyMessage(key, known),
      };
    });
  }
  if (issue.path.length === 0 && issue.code === 'invalid_type') {
    return [{ file: LAB_FILE, line: 1, message: 'expected a mapping of keys such as name, title, systems' }];
  }
  return [{ file: LAB_FILE, line: lineOf(issue.path), field: formatFieldPath(issue.path), message: issue.message }];
}
