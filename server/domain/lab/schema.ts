/**
 * @file The lab format (DESIGN.md "Lab format"): one zod schema, checked at
 * the edge (import, API, CLI) and typed after. The OpenAPI document is
 * generated from the same schema.
 */
import { z } from 'zod';

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const dnsLabel = z
  .string()
  .regex(DNS_LABEL, 'expected a DNS label: lower-case letters, digits and "-", starting with a letter, at most 63');

/** `90s`, `30m`, `2h`, `1d` → seconds. */
export const duration = z
  .string()
  .regex(/^[1-9]\d*(s|m|h|d)$/, 'expected a duration such as "90s", "30m", "2h" or "1d"')
  .transform((text) => {
    const unit = text.at(-1) as 's' | 'm' | 'h' | 'd';
    return Number(text.slice(0, -1)) * { s: 1, m: 60, h: 3600, d: 86400 }[unit];
  });

/** Kubernetes-style CPU quantity: "500m", "1", "2". */
export const cpuQuantity = z
  .string()
  .regex(/^([1-9]\d*m|\d+(\.\d+)?)$/, 'expected a CPU quantity such as "500m" or "1"');
/** Kubernetes-style memory quantity: "256Mi", "1Gi". */
export const memoryQuantity = z
  .string()
  .regex(/^[1-9]\d*(Ki|Mi|Gi)$/, 'expected a memory quantity such as "256Mi" or "1Gi"');

export const consoleKind = z.enum(['terminal', 'desktop']);
export type ConsoleKind = z.infer<typeof consoleKind>;

/** A path written exactly as the file's key in a lab bundle: no "/" prefix, no "." or ".." or empty parts, no "\\". */
export function isLabFilePath(path: string): boolean {
  return !path.includes('\\') && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

const relativePath = z.string().refine(isLabFilePath, {
  message: 'expected a path inside the lab folder such as "pages/01.md" (no leading "/", no "." or "..")',
});

export const systemUser = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected a Unix user name'),
  /** "generate" makes a random password per instance, shown to the learner. */
  password: z.string().min(1).default('generate'),
});

/**
 * Where a VM's root disk is imported from, per instance, by runtimes that
 * import disks (kubernetes: a CDI DataVolume). `docker://` names a
 * containerDisk image in a registry, `http(s)://` a disk image file (qcow2,
 * raw, optionally compressed); `size` is the disk the VM gets.
 */
export const vmDisk = z.strictObject({
  source: z
    .string()
    .regex(
      /^(https?|docker):\/\/[^\s/]+\/\S*$/,
      'expected an http(s):// URL of a disk image or docker://REGISTRY/IMAGE of a containerDisk image',
    ),
  size: z.string().regex(/^[1-9]\d*(Mi|Gi|Ti)$/, 'expected a disk size such as "10Gi"'),
});

export const systemSchema = z.strictObject({
  name: dnsLabel,
  kind: z.enum(['container', 'vm']),
  image: z.string().min(1, 'expected an image name'),
  consoles: z.array(consoleKind).default(['terminal']),
  resources: z
    .strictObject({ cpu: cpuQuantity.default('500m'), memory: memoryQuantity.default('256Mi') })
    .default({ cpu: '500m', memory: '256Mi' }),
  user: systemUser.optional(),
  /** VMs only: a root disk to import instead of using `image` where the runtime imports disks (vmDisk). */
  disk: vmDisk.optional(),
  /** NoCloud user-data for VMs, merged with the generated user and host name. */
  cloudInit: z.string().optional(),
  /** Command of a container system (argv); the image's default otherwise. */
  command: z.array(z.string()).optional(),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string())
    .optional(),
  /** Ports of web apps inside the system, reachable through the gateway's HTTP proxy. */
  ports: z.array(z.number().int().min(1).max(65535)).optional(),
});
export type SystemDefinition = z.infer<typeof systemSchema>;

export const checkSchema = z.strictObject({
  system: dnsLabel,
  /** A shell command (run with `sh -c`) or an argv. Exit 0 means done. */
  run: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  timeout: duration.default(10),
});

export const stepSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][-a-z0-9_]*$/, 'expected an id of lower-case letters, digits, "-" and "_"'),
  text: z.string().min(1, 'expected the text of the step'),
  check: checkSchema.optional(),
  /** Commands that complete the step: used by `lab test` to prove the lab works. */
  solution: z
    .strictObject({ system: dnsLabel, run: z.union([z.string().min(1), z.array(z.string()).min(1)]) })
    .optional(),
  hint: z.string().optional(),
  points: z.number().min(0).default(1),
});
export type StepDefinition = z.infer<typeof stepSchema>;

export const pageSchema = z.strictObject({
  title: z.string().min(1, 'expected a title'),
  /** Markdown file of the page, relative to the lab folder. */
  body: relativePath,
  steps: z.array(stepSchema).default([]),
});

export const limitsSchema = z.strictObject({
  ttl: duration.default(7200),
  idle: duration.default(1800),
  maxInstancesPerUser: z.number().int().min(1).default(1),
  /** What happens when the TTL or idle limit is reached. */
  onExpire: z.enum(['stop', 'pause']).default('stop'),
  /** How often a learner may extend a run ("I am still here"); the server's LIMIT_EXTENSIONS when absent. */
  extensions: z.number().int().min(0).max(100).optional(),
  /** How long an instance may stay paused before it is stopped; the server's LIMIT_MAX_PAUSED when absent. */
  maxPaused: duration.optional(),
});

/** Names usable in markdown as `{{vars.NAME}}` and in the environment of a system. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const variableName = z
  .string()
  .regex(VARIABLE_NAME, 'expected a name of letters, digits and "_", not starting with a digit');

export const labSchema = z
  .strictObject({
    name: dnsLabel,
    title: z.string().min(1, 'expected a title'),
    description: z.string().optional(),
    limits: limitsSchema.default({ ttl: 7200, idle: 1800, maxInstancesPerUser: 1, onExpire: 'stop' }),
    systems: z.array(systemSchema).min(1, 'a lab needs at least one system'),
    network: z.strictObject({ internet: z.boolean().default(false) }).default({ internet: false }),
    /** Lab-defined variables usable in markdown as {{vars.NAME}}. */
    variables: z.record(variableName, z.string()).optional(),
    tutorial: z
      .strictObject({
        pages: z.array(pageSchema).default([]),
        /** Whether a reset of the lab keeps the learner's progress. */
        keepProgressOnReset: z.boolean().default(true),
      })
      .default({ pages: [], keepProgressOnReset: true }),
  })
  // `when`: run even when fields elsewhere are invalid, so that one pass lists every problem.
  .superRefine((lab, ctx) => checkCrossReferences(lab, ctx), { when: () => true });

type Issue = { path: (string | number)[]; message: string };

/**
 * Rules that span fields (unique names, references to systems, kind-specific keys).
 * Runs on a possibly half-valid lab, so it reads it as `unknown` and skips what is malformed.
 */
function checkCrossReferences(lab: unknown, ctx: { addIssue(issue: Issue & { code: 'custom' }): void }): void {
  const add = (path: Issue['path'], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const names = new Set<string>();
  listAt(lab, 'systems').forEach((system, i) => {
    const name = field(system, 'name');
    if (typeof name === 'string') {
      if (names.has(name)) add(['systems', i, 'name'], `duplicate system name "${name}"`);
      names.add(name);
    }
    const kind = field(system, 'kind');
    if (field(system, 'cloudInit') !== undefined && kind !== 'vm')
      add(['systems', i, 'cloudInit'], 'cloudInit is only for systems of kind "vm"');
    if (field(system, 'disk') !== undefined && kind !== 'vm')
      add(['systems', i, 'disk'], 'disk is only for systems of kind "vm"');
    if (field(system, 'command') !== undefined && kind !== 'container')
      add(['systems', i, 'command'], 'command is only for systems of kind "container"');
    const consoles = field(system, 'consoles');
    if (Array.isArray(consoles)) {
      consoles.forEach((console, c) => {
        if (consoles.indexOf(console) !== c) add(['systems', i, 'consoles', c], `duplicate console "${console}"`);
      });
    }
  });
  const stepIds = new Set<string>();
  listAt(field(lab, 'tutorial'), 'pages').forEach((page, p) => {
    listAt(page, 'steps').forEach((step, s) => {
      const at = ['tutorial', 'pages', p, 'steps', s];
      const id = field(step, 'id');
      if (typeof id === 'string') {
        if (stepIds.has(id)) add([...at, 'id'], `duplicate step id "${id}"`);
        stepIds.add(id);
      }
      for (const key of ['check', 'solution'] as const) {
        const ref = field(field(step, key), 'system');
        if (typeof ref === 'string' && !names.has(ref))
          add([...at, key, 'system'], `no system named "${ref}" in this lab`);
      }
    });
  });
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function listAt(value: unknown, key: string): unknown[] {
  const list = field(value, key);
  return Array.isArray(list) ? list : [];
}

/** A lab as written (input of the schema). */
export type LabInput = z.input<typeof labSchema>;
/** A lab after validation, with defaults filled and durations in seconds. */
export type LabDefinition = z.output<typeof labSchema>;
