/**
 * @file zod issues in the words of a lab author: "expected "terminal" or
 * "desktop"", "missing", "unknown key "imgae" (did you mean "image"?)". Used by
 * the lab parser; the API can use `labErrorMap` the same way for JSON bodies.
 */
import { z } from 'zod';

type RawIssue = z.core.$ZodRawIssue;
export type FieldPath = ReadonlyArray<PropertyKey>;

/**
 * Per-parse error map (`labSchema.safeParse(data, { error: labErrorMap })`).
 * Messages written in the schema win over it, so it only words zod's defaults.
 */
export const labErrorMap: z.core.$ZodErrorMap = (issue) => {
  const missing = issue.input === undefined && ['invalid_type', 'invalid_value', 'invalid_union'].includes(issue.code);
  if (missing) return 'required, but missing';
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${describeType(issue.expected)}, got ${describeValue(issue.input)}${quoteHint(issue)}`;
    case 'invalid_value':
      return `expected ${oneOf(issue.values.map((value) => JSON.stringify(value)))}`;
    case 'too_small':
      return tooSmall(issue);
    case 'too_big':
      return tooBig(issue);
    case 'invalid_union':
      return unionMessage(issue.errors);
    case 'invalid_key':
      return issue.issues[0]?.message ?? 'invalid key';
    default:
      return undefined;
  }
};

/** `systems[1].consoles[0]`, `env.HOME`, `variables["odd key"]`. */
export function formatFieldPath(path: FieldPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][\w-]*$/.test(segment))
      text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}

/** The keys allowed at `path` in `schema` (an object's shape), or [] when the path does not lead to an object. */
export function knownKeysAt(schema: z.core.$ZodType, path: FieldPath): string[] {
  let node: z.core.$ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (node instanceof z.ZodObject) node = node.shape[String(segment)] as z.core.$ZodType | undefined;
    else if (node instanceof z.ZodArray) node = node.element as z.core.$ZodType;
    else if (node instanceof z.ZodRecord) node = node.valueType as z.core.$ZodType;
    else return [];
    node = node && unwrap(node);
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** A message for an unknown key, with the closest known key when it looks like a typo. */
export function unknownKeyMessage(key: string, known: string[]): string {
  const close = known
    .map((candidate) => ({ candidate, distance: editDistance(key.toLowerCase(), candidate.toLowerCase()) }))
    .filter(({ distance }) => distance <= Math.max(1, Math.floor(key.length / 3)))
    .sort((a, b) => a.distance - b.distance)[0];
  const hint = close ? ` (did you mean "${close.candidate}"?)` : '';
  const allowed = known.length > 0 ? `; allowed here: ${known.join(', ')}` : '';
  return `unknown key "${key}"${hint}${allowed}`;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let node = schema;
  for (;;) {
    if (node instanceof z.ZodDefault || node instanceof z.ZodOptional || node instanceof z.ZodNullable) {
      node = node.unwrap() as z.core.$ZodType;
    } else if (node instanceof z.ZodPipe) node = node.in as z.core.$ZodType;
    else return node;
  }
}

/**
 * YAML reads `cpu: 1` or `password: 1234` as numbers; when the same value in
 * quotes would be right, say so.
 */
function quoteHint(issue: Extract<RawIssue, { code: 'invalid_type' }>): string {
  const { input, inst } = issue;
  if (issue.expected !== 'string' || (typeof input !== 'number' && typeof input !== 'boolean')) return '';
  if (!(inst instanceof z.core.$ZodType) || !z.safeParse(inst, String(input)).success) return '';
  return `: write it in quotes ("${String(input)}")`;
}

function describeType(expected: string): string {
  const words: Record<string, string> = {
    string: 'text',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping (key: value)',
    record: 'a mapping (key: value)',
  };
  return words[expected] ?? expected;
}

function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' && !Number.isInteger(value)) return `the number ${value}`;
  return `${typeof value === 'number' ? 'the number' : typeof value} ${String(value)}`;
}

function oneOf(options: string[]): string {
  if (options.length <= 1) return options[0] ?? 'nothing';
  return `${options.slice(0, -1).join(', ')} or ${options.at(-1)}`;
}

function tooSmall(issue: Extract<RawIssue, { code: 'too_small' }>): string {
  const n = Number(issue.minimum);
  if (issue.origin === 'string') return n <= 1 ? 'must not be empty' : `expected at least ${n} characters`;
  if (issue.origin === 'array') return n <= 1 ? 'expected at least one item' : `expected at least ${n} items`;
  return `expected a number ${issue.inclusive === false ? '>' : '≥'} ${n}`;
}

function tooBig(issue: Extract<RawIssue, { code: 'too_big' }>): string {
  const n = Number(issue.maximum);
  if (issue.origin === 'string') return `expected at most ${n} characters`;
  if (issue.origin === 'array') return `expected at most ${n} items`;
  return `expected a number ${issue.inclusive === false ? '<' : '≤'} ${n}`;
}

/** "expected text or a list", or the one branch's own complaint when the type matched but the value did not. */
function unionMessage(branches: ReadonlyArray<ReadonlyArray<z.core.$ZodIssue>>): string {
  const typeMismatch = (issues: ReadonlyArray<z.core.$ZodIssue>) =>
    issues.length === 1 && issues[0]!.code === 'invalid_type' && issues[0]!.path.length === 0;
  const nearMiss = branches.filter((issues) => !typeMismatch(issues));
  if (nearMiss.length === 1) {
    return nearMiss[0]!
      .map((issue) => (issue.path.length > 0 ? `${formatFieldPath(issue.path)}: ${issue.message}` : issue.message))
      .join('; ');
  }
  const expected = branches.flatMap((issues) =>
    issues[0]?.code === 'invalid_type' ? [describeType(issues[0].expected)] : [],
  );
  return expected.length > 0 ? `expected ${oneOf([...new Set(expected)])}` : 'not valid here';
}

/** Optimal string alignment distance: edits, with a swap of two neighbours counting as one ("imgae" → "image"). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
