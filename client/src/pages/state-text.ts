/** @file Instance states and system phases in words for learners, and what they can do about them. */
import type { InstanceState } from '../api.js';

export function stateLabel(state: InstanceState): string {
  return {
    requested: 'starting',
    provisioning: 'starting',
    running: 'running',
    paused: 'paused',
    stopping: 'stopping',
    stopped: 'stopped',
    failed: 'failed',
  }[state];
}

/** The order systems go through while starting, for a progress bar. */
export const PHASES = ['pending', 'pulling', 'creating', 'booting', 'ready'] as const;

export function phaseProgress(phase: string): number {
  const i = PHASES.indexOf(phase as (typeof PHASES)[number]);
  return i < 0 ? 0 : i / (PHASES.length - 1);
}

/** Which buttons a state offers (the server refuses the rest with a readable 409 anyway). */
export function actionsFor(state: InstanceState): Array<'start' | 'stop' | 'pause' | 'resume' | 'reset'> {
  switch (state) {
    case 'running':
      return ['pause', 'reset', 'stop'];
    case 'paused':
      return ['resume', 'reset', 'stop'];
    case 'requested':
    case 'provisioning':
      return ['stop'];
    case 'failed':
      return ['reset', 'stop'];
    case 'stopped':
      return ['start'];
    case 'stopping':
      return [];
  }
}
