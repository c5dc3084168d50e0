/**
 * @file The status of an instance, composed from what the engine and the VM
 * driver report, the lab's list of systems recorded on the instance network,
 * and what provisioning is doing right now (pure: tested without an engine).
 */
import type { InstanceId, InstanceStatus, SystemStatus } from '../runtime.js';
import type { SystemSummary } from './manifests.js';

export interface StatusSources {
  id: InstanceId;
  /** The lab's systems, from the instance network; undefined when there is no network. */
  lab?: SystemSummary[];
  /** Systems that exist (containers and VMs), with the phase their runtime reports. */
  found: SystemStatus[];
  /** Systems a provision or reset is working on now. */
  progress?: ReadonlyMap<string, SystemStatus>;
  /** Systems of the last failed provision, when nothing exists any more. */
  failure?: SystemStatus[];
}

export function composeStatus({ id, lab, found, progress, failure }: StatusSources): InstanceStatus {
  const seen = new Map(found.map((s) => [s.name, s]));
  const exists = seen.size > 0 || lab !== undefined;
  if (!exists) {
    if (failure) return { id, exists: false, systems: failure };
    return { id, exists: false, systems: progress ? [...progress.values()] : [] };
  }
  const names = lab?.map((s) => s.name) ?? [...seen.keys()];
  const systems: SystemStatus[] = names.map((name) => {
    const doing = progress?.get(name);
    // While provisioning works on a system, its phase is the truth until the system is ready.
    if (doing && doing.phase !== 'ready') return doing;
    const system = seen.get(name);
    if (system) return system;
    const summary = lab?.find((s) => s.name === name);
    return {
      name,
      kind: summary?.kind ?? 'container',
      consoles: summary?.consoles ?? ['terminal'],
      phase: 'missing',
      reason: `system ${name} does not exist any more`,
    };
  });
  // Something of the instance that the lab does not name (e.g. left by an older version of it).
  for (const [name, s] of seen) if (!names.includes(name)) systems.push(s);
  return { id, exists, systems };
}
