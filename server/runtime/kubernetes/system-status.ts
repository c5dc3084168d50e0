/**
 * @file Phases of systems read from what the cluster reports: a Pod's status
 * (written by the kubelet) and a VirtualMachine's (written by KubeVirt). Pure,
 * so every mapping is unit-tested; the driver feeds it from its watches.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { ConsoleKind } from '../../domain/lab/schema.js';
import type { SystemPhase, SystemStatus } from '../runtime.js';
import { ANNOTATION, LABEL } from './names.js';
import type { VirtualMachine } from './virtual-machine.js';

/** Waiting reasons of a container that will not get better without a change. */
const BROKEN = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

export function podStatus(pod: V1Pod): SystemStatus {
  const base = identity(pod.metadata?.labels, pod.metadata?.annotations, 'container');
  if (pod.metadata?.deletionTimestamp) return { ...base, phase: 'stopped', reason: 'being deleted' };
  const s = pod.status;
  const waiting = s?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  if (waiting?.reason && BROKEN.has(waiting.reason))
    return { ...base, phase: 'failed', reason: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  switch (s?.phase) {
    case 'Running': {
      const ready = s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return { ...base, phase: ready ? 'ready' : 'booting' };
    }
    case 'Succeeded':
      return { ...base, phase: 'stopped', reason: 'the container exited' };
    case 'Failed':
      return { ...base, phase: 'failed', reason: s.message ?? s.reason ?? 'the container failed' };
    default: {
      const unschedulable = s?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
      if (unschedulable?.message) return { ...base, phase: 'pending', reason: unschedulable.message };
      if (!pod.spec?.nodeName) return { ...base, phase: 'pending', reason: 'waiting for a node' };
      return { ...base, phase: 'creating', ...(waiting?.reason ? { reason: waiting.reason } : {}) };
    }
  }
}

/** KubeVirt's printableStatus values (kubevirt.io/api core/v1 VirtualMachinePrintableStatus). */
const VM_PHASES: Record<string, SystemPhase> = {
  Stopped: 'stopped',
  Provisioning: 'creating',
  WaitingForVolumeBinding: 'creating',
  Starting: 'booting',
  Running: 'ready',
  Paused: 'paused',
  Stopping: 'stopped',
  Terminating: 'stopped',
  Migrating: 'ready',
  ErrorUnschedulable: 'failed',
  ErrImagePull: 'failed',
  ImagePullBackOff: 'failed',
  ErrorPvcNotFound: 'failed',
  DataVolumeError: 'failed',
  CrashLoopBackOff: 'failed',
  Unknown: 'failed',
};

export function vmStatus(vm: VirtualMachine): SystemStatus {
  const base = identity(vm.metadata.labels, vm.metadata.annotations, 'vm');
  if (vm.metadata.deletionTimestamp) return { ...base, phase: 'stopped', reason: 'being deleted' };
  const printable = vm.status?.printableStatus;
  if (!printable) return { ...base, phase: 'pending', reason: 'waiting for KubeVirt' };
  const phase = VM_PHASES[printable] ?? 'booting';
  if (phase === 'ready' && vm.status?.ready !== true) return { ...base, phase: 'booting' };
  if (phase === 'failed') {
    const failure = vm.status?.conditions?.find((c) => c.status === 'False' && c.message);
    return { ...base, phase, reason: failure?.message ? `${printable}: ${failure.message}` : printable };
  }
  return { ...base, phase };
}

function identity(
  labels: Record<string, string> | undefined,
  annotations: Record<string, string> | undefined,
  kind: SystemStatus['kind'],
): Pick<SystemStatus, 'name' | 'kind' | 'consoles'> {
  const consoles = (annotations?.[ANNOTATION.consoles] ?? '')
    .split(',')
    .filter((c): c is ConsoleKind => c === 'terminal' || c === 'desktop');
  return { name: labels?.[LABEL.system] ?? '', kind, consoles };
}
