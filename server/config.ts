/**
 * @file Configuration from environment variables, validated once at start-up
 * with one schema. A wrong value stops start-up with a message naming the
 * variable and the reason.
 */
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

export const configSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(8080),
  /** Base URL users reach the tool at (LTI redirect URIs, Origin checks). */
  PUBLIC_URL: z.url().optional(),
  /** More origins (comma-separated URLs) whose pages may open console sockets, besides PUBLIC_URL's. */
  GATEWAY_ORIGINS: z
    .string()
    .refine((v) => v.split(',').every((u) => URL.canParse(u.trim())), 'expected comma-separated URLs')
    .optional(),
  /**
   * Which peers' X-Forwarded-For / -Proto Express believes (client addresses for sign-in limits and logs):
   * `loopback` (a proxy on this machine), `false`, `true`, a hop count, or comma-separated addresses, CIDRs and
   * the names loopback, linklocal, uniquelocal. Set it to the reverse proxy in front of the tool.
   */
  TRUST_PROXY: z
    .string()
    .default('loopback')
    .refine(
      (v) => trustProxy(v) !== undefined,
      'expected true, false, a hop count, or comma-separated addresses/CIDRs/loopback/linklocal/uniquelocal',
    ),
  MONGODB_URI: z
    .string({ error: 'is required: a MongoDB connection string such as mongodb://127.0.0.1:27017/lab-orchestrator' })
    .regex(/^mongodb(\+srv)?:\/\//, 'expected a MongoDB connection string starting with mongodb://'),
  RUNTIME: z.enum(['local', 'kubernetes', 'none']).default('local'),
  DATA_DIR: z.string().default('.data'),
  /** Local runtime: VMs start from a saved state of their image (restored in ~1 s) instead of booting. */
  LAB_VM_SAVED_STATE: z.enum(['on', 'off']).default('on'),
  /** Storage class of VM disks the kubernetes runtime imports (lab `disk`); the cluster's default when unset. */
  KUBERNETES_STORAGE_CLASS: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'expected the name of a StorageClass')
    .optional(),
  /** The local runtime's share of the container engine: servers with different scopes never touch each other's instances. */
  RUNTIME_SCOPE: z
    .string()
    .regex(/^[a-z0-9][-a-z0-9]{0,40}$/, 'expected lower-case letters, digits and "-"')
    .default('default'),
  /** 32 bytes, base64 or hex, for credentials at rest; generated into DATA_DIR when unset. */
  SECRET_KEY: z
    .string()
    .refine((v) => decodeKey(v) !== undefined, 'expected 32 bytes as 64 hex digits or base64')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Seconds between reconciler rounds. */
  RECONCILE_INTERVAL: z.coerce.number().min(1).default(10),
  /** Seconds a job's leader lease lasts without renewal: after a kill -9 another replica takes over within this. */
  LEASE_TTL: z.coerce.number().min(1).default(15),
  /** Seconds between reaper rounds (TTL and idle limits). */
  REAPER_INTERVAL: z.coerce.number().min(0.2).default(15),
  /** Seconds between admission rounds (the queue of requested instances; also woken when capacity frees). */
  ADMISSION_INTERVAL: z.coerce.number().min(0.2).default(2),
  /** Longest warning before a TTL or idle stop (seconds); shorter limits warn 10 % ahead. */
  LIMIT_WARNING: z.coerce.number().min(1).default(300),
  /** Extensions per run of an instance when its lab does not say (limits.extensions). */
  LIMIT_EXTENSIONS: z.coerce.number().int().min(0).default(2),
  /** Seconds an instance may stay paused before it is stopped, when its lab does not say (limits.maxPaused); 0 = no limit. */
  LIMIT_MAX_PAUSED: z.coerce.number().min(0).default(86400),
  /** Instances holding runtime resources at once, all users (0 = no limit). */
  QUOTA_INSTANCES: z.coerce.number().int().min(0).default(100),
  /** CPU (cores) the instances may hold together, summed from their labs' systems; default 4 × this machine's cores. */
  QUOTA_CPU: z.coerce.number().min(0).optional(),
  /** Memory the instances may hold together ("16Gi"; 0 = no limit); default 75 % of this machine's memory. */
  QUOTA_MEMORY: z
    .string()
    .regex(/^(0|[1-9]\d*(Ki|Mi|Gi|Ti)?)$/, 'expected a memory quantity such as "16Gi" or 0')
    .optional(),
  /** Instances at once per course (0 = no limit). */
  QUOTA_COURSE_INSTANCES: z.coerce.number().int().min(0).default(0),
  /** Requested instances that may wait for capacity; beyond, a launch is refused (429). 0 = never queue. */
  QUEUE_MAX: z.coerce.number().int().min(0).default(1000),
  /** Seconds between grade outbox rounds, and its first retry delay. */
  GRADE_OUTBOX_INTERVAL: z.coerce.number().min(0.1).default(2),
  /** Longest delay between two tries of a score while the LMS fails (seconds). */
  GRADE_RETRY_MAX: z.coerce.number().min(1).default(300),
  /** How long a server holds a score it sends (seconds); after a crash, the score waits this long. */
  GRADE_LEASE: z.coerce.number().min(1).default(60),
  /** How old (seconds since iat) an LTI id_token may be (ltijs says 10; a minute allows for clock skew). */
  LTI_TOKEN_MAX_AGE: z.coerce.number().int().min(1).default(60),
  /** Dynamically registered LMS platforms start active (otherwise an admin activates them). */
  LTI_AUTO_ACTIVATE: z.stringbool().default(false),
  /** Maximum size of a lab bundle upload, in bytes. */
  MAX_LAB_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(20 * 1024 * 1024),
});

export type Config = z.output<typeof configSchema> & { publicUrl: string; dataDir: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function decodeKey(text: string): Buffer | undefined {
  const bytes = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** TRUST_PROXY as Express's `trust proxy` setting takes it; undefined when the text is none of its forms. */
export function trustProxy(text: string): boolean | number | string[] | undefined {
  const v = text.trim();
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^\d+$/.test(v)) return Number(v);
  const items = v.split(',').map((x) => x.trim());
  const valid = (item: string) => {
    if (PROXY_NAMES.has(item)) return true;
    const [address = '', prefix, ...rest] = item.split('/');
    const family = net.isIP(address);
    if (!family || rest.length) return false;
    if (prefix === undefined) return true;
    return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  };
  return items.every(valid) ? items : undefined;
}

/** Reads the configuration; throws a ConfigError naming every wrong variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.fromEntries(Object.keys(configSchema.shape).map((key) => [key, env[key] || undefined]));
  const result = configSchema.safeParse(known);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = result.data;
  const host = c.HOST === '0.0.0.0' || c.HOST === '::' ? 'localhost' : c.HOST;
  return {
    ...c,
    publicUrl: (c.PUBLIC_URL ?? `http://${host}:${c.PORT}`).replace(/\/$/, ''),
    dataDir: path.resolve(c.DATA_DIR),
  };
}
