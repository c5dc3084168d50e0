/**
 * @file Variables in a lab's markdown (`{{systems.server.password}}`): the one
 * catalogue of names, shared by the lab validator (an unknown name is a problem
 * when the lab is imported) and the tutorial renderer (which fills in values
 * per instance). Keep both sides on this module so they never disagree.
 *
 * The catalogue:
 * - `user.name`               the learner's name
 * - `instance.id`             the id of the learner's instance
 * - `systems.NAME.user`       user name of system NAME (it must declare `user`)
 * - `systems.NAME.password`   its password (generated per instance when "generate")
 * - `vars.NAME`               a value from the lab's `variables`
 */

/**
 * `{{ name }}` where name is dotted words; words may hold "-" (system names are
 * DNS labels). Global: use with `matchAll` or `replace`, never with `test`.
 * `{{.Name}}` (Go templates in a code block) does not match, so it stays as text.
 */
export const VARIABLE_PATTERN = /\{\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}/g;

/** The names the catalogue accepts, for messages and the lab format documentation. */
export const VARIABLE_CATALOGUE = [
  'user.name',
  'instance.id',
  'systems.NAME.user',
  'systems.NAME.password',
  'vars.NAME',
] as const;

/** What a lab offers to its markdown: enough to tell a known variable from an unknown one. */
export interface VariableScope {
  systems: ReadonlyArray<{ name: string; hasUser: boolean }>;
  vars: ReadonlyArray<string>;
}

/** The values of one instance, given by the renderer. */
export interface VariableValues {
  user: { name: string };
  instance: { id: string };
  systems: Readonly<Record<string, { user?: string; password?: string }>>;
  vars: Readonly<Record<string, string>>;
}

export interface VariableUse {
  name: string;
  /** 1-based line in the text. */
  line: number;
}

/** Every `{{name}}` in a text, in order, with its line. */
export function findVariables(text: string): VariableUse[] {
  const uses: VariableUse[] = [];
  text.split('\n').forEach((line, i) => {
    for (const match of line.matchAll(VARIABLE_PATTERN)) uses.push({ name: match[1]!, line: i + 1 });
  });
  return uses;
}

/** Why a variable name does not exist in a lab, or undefined when it does. */
export function unknownVariableReason(name: string, scope: VariableScope): string | undefined {
  const parts = name.split('.');
  const [head, second, third] = parts;
  if ((name === 'user.name' || name === 'instance.id') && parts.length === 2) return undefined;
  if (head === 'vars' && parts.length === 2) {
    return scope.vars.includes(second!)
      ? undefined
      : `unknown variable "${name}": the lab defines no variable "${second}" under "variables"`;
  }
  if (head === 'systems' && parts.length === 3) {
    const system = scope.systems.find((s) => s.name === second);
    if (!system) return `unknown variable "${name}": no system named "${second}" in this lab`;
    if (third !== 'user' && third !== 'password') {
      return `unknown variable "${name}": a system offers only "user" and "password"`;
    }
    if (!system.hasUser) return `unknown variable "${name}": system "${second}" has no "user"`;
    return undefined;
  }
  return `unknown variable "${name}": use one of ${VARIABLE_CATALOGUE.join(', ')}`;
}

/** The value of a variable for an instance, or undefined when the name is not in the catalogue. */
export function variableValue(name: string, values: VariableValues): string | undefined {
  const parts = name.split('.');
  if (name === 'user.name') return values.user.name;
  if (name === 'instance.id') return values.instance.id;
  if (parts[0] === 'vars' && parts.length === 2) return own(values.vars, parts[1]!);
  if (parts[0] === 'systems' && parts.length === 3) {
    const system = own(values.systems, parts[1]!);
    if (parts[2] === 'user') return system?.user;
    if (parts[2] === 'password') return system?.password;
  }
  return undefined;
}

/**
 * Replaces every known variable by its value passed through `encode` (the
 * renderer escapes for where the value lands). Unknown ones stay as written:
 * the validator has refused them already, so this only happens with stale data.
 */
export function substituteVariables(
  text: string,
  values: VariableValues,
  encode: (value: string) => string = (value) => value,
): string {
  return text.replace(VARIABLE_PATTERN, (whole, name: string) => {
    const value = variableValue(name, values);
    return value === undefined ? whole : encode(value);
  });
}

function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
