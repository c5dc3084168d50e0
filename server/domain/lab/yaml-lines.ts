/**
 * @file Which line of lab.yaml a field path points at, so a schema problem can
 * say `lab.yaml:14`. A field that is there points at its key (or list item); a
 * field that is missing points at the nearest parent that is there.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { FieldPath } from './issues.js';

export type LineOf = (path: FieldPath) => number;

export function yamlLineLocator(doc: Document, lineCounter: LineCounter): LineOf {
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  return (path) => {
    let node: unknown = doc.contents;
    let line = lineAt(rangeStart(node));
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) break;
        line = lineAt(rangeStart(pair.key));
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        line = lineAt(rangeStart(item));
        node = item;
      } else break;
    }
    return line;
  };
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}
