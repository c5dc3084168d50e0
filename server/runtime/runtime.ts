/**
 * @file The Runtime extension point (DESIGN.md "Runtime interface"): what runs
 * instances. Drivers live in `local/` and `kubernetes/`; nothing outside
 * `server/runtime/` knows which one is in use.
 *
 * Contract for every driver:
 * - Every method is idempotent: a retry after a crash or a timeout is safe.
 * - `provision` is resumable: calling it again for a half-made instance
 *   finishes it (adopts what exists) instead of failing.
 * - `destroy` of something already gone succeeds.
 * - Errors a user can act on are `RuntimeError`s with a readable message.
 */
import type { Duplex } from 'node:stream';
import type { ConsoleKind, LabDefinition, SystemDefinition } from '../domain/lab/schema.js';

export type InstanceId = string;

/** What a system needs to be created for one instance. */
export interface SystemSpec {
  definition: SystemDefinition;
  /** Credentials generated for this instance (password in clear: only in memory and the runtime). */
  credentials?: { user: string; password: string };
}

export interface InstanceSpec {
  id: InstanceId;
  lab: { name: string; version: number; definition: LabDefinition };
  owner: string;
  systems: SystemSpec[];
}

/** Phases of one system, in the order provisioning reaches them. */
export type SystemPhase =
  | 'pending'
  | 'pulling'
  | 'creating'
  | 'booting'
  | 'ready'
  | 'paused'
  | 'stopped'
  | 'failed'
  | 'missing';

export interface SystemStatus {
  name: string;
  kind: SystemDefinition['kind'];
  phase: SystemPhase;
  /** Why the phase is what it is, in words a user can read (e.g. a failure). */
  reason?: string;
  consoles: ConsoleKind[];
}

export interface InstanceStatus {
  id: InstanceId;
  /** False when the runtime has nothing of this instance. */
  exists: boolean;
  systems: SystemStatus[];
}

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** A terminal: PTY bytes both ways, plus resize. */
export interface TerminalStream extends Duplex {
  resize(size: TerminalSize): Promise<void>;
}

export interface ExecOptions {
  /** Seconds before the command is killed; the result then has `timedOut`. */
  timeout?: number;
  user?: string;
  stdin?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface Runtime {
  /** `local` or `kubernetes`. */
  readonly name: string;
  provision(spec: InstanceSpec): Promise<void>;
  status(id: InstanceId): Promise<InstanceStatus>;
  /** Ids of every instance of which something exists in the runtime. */
  list(): Promise<InstanceId[]>;
  pause(id: InstanceId): Promise<void>;
  resume(id: InstanceId): Promise<void>;
  /** Removes everything of the instance; gone already is fine. */
  destroy(id: InstanceId): Promise<void>;
  /** Back to the image: of one system, or of all. Needs the spec to recreate. */
  reset(spec: InstanceSpec, system?: string): Promise<void>;
  terminal(id: InstanceId, system: string, size: TerminalSize): Promise<TerminalStream>;
  /** Raw RFB (VNC) bytes. */
  desktop(id: InstanceId, system: string): Promise<Duplex>;
  exec(id: InstanceId, system: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Optional: makes ahead of time what instances of this lab version start
   * from (local: VM saved states), so the first learner does not wait for it.
   * May take minutes; cheap when done already. A failure only means that
   * instances start the slow way. Absent where nothing can be kept (KubeVirt).
   */
  prepare?(lab: InstanceSpec['lab']): Promise<void>;
  /** Releases connections and watches; does not touch instances. */
  close(): Promise<void>;
}

/** An error of a runtime, with a message a user can read. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly code: 'not-found' | 'bad-spec' | 'unavailable' | 'failed' = 'failed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RuntimeError';
  }
}
