/**
 * @file The phase of a container system, read from what the engine reports
 * (pure: tested without an engine). The engine is the truth; what provisioning
 * is doing right now (pulling, creating, booting) is layered over it by the
 * runtime while it runs.
 */
import type { ConsoleKind } from '../../domain/lab/schema.js';
import type { SystemStatus } from '../runtime.js';
import { LABEL } from './names.js';

/** The fields of the engine's container list that matter here. */
export interface ContainerSummary {
  Labels?: Record<string, string>;
  State?: string;
  /** e.g. "Exited (1) 3 seconds ago" */
  Status?: string;
}

export function consolesOf(labels: Record<string, string> | undefined): ConsoleKind[] {
  const text = labels?.[LABEL.consoles] ?? 'terminal';
  return text.split(',').filter((c): c is ConsoleKind => c === 'terminal' || c === 'desktop');
}

export function containerStatus(container: ContainerSummary): SystemStatus {
  const name = container.Labels?.[LABEL.system] ?? '?';
  const base = { name, kind: 'container' as const, consoles: consolesOf(container.Labels) };
  switch (container.State) {
    case 'running':
      return { ...base, phase: 'ready' };
    case 'paused':
      return { ...base, phase: 'paused' };
    case 'created':
    case 'configured':
    case 'initialized':
      return { ...base, phase: 'creating' };
    case 'restarting':
      return { ...base, phase: 'booting' };
    case 'exited':
    case 'stopped':
    case 'dead': {
      const code = /\((-?\d+)\)/.exec(container.Status ?? '')?.[1];
      if (code === '0' || code === undefined) return { ...base, phase: 'stopped', reason: 'the system stopped' };
      return { ...base, phase: 'failed', reason: `the system stopped with exit code ${code}` };
    }
    default:
      return { ...base, phase: 'failed', reason: `the engine reports the state "${container.State ?? 'unknown'}"` };
  }
}
