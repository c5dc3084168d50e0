/** @file Instance states, system phases, the queue and time left in words for learners, and what they can do about them. */
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

/** The banner of a requested instance: its place in the queue for capacity, when it waits in one. */
export function queueText(position: number | undefined): string {
  if (position === undefined) return 'Your lab is starting…';
  return `You are number ${position} in the queue: your lab starts as soon as there is room for it${
    position === 1 ? ' (you are next)' : ''
  }. This page updates by itself.`;
}

/**
 * "1 h 5 min", "12 min", "40 s": the quiet clock. Whole minutes round down
 * (it never promises more time than there is); the last minute counts
 * seconds as the countdown does (`exact`).
 */
export function roughly(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.ceil(ms / 1000))} s`;
  const min = Math.floor(ms / 60_000);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}

/** "no extensions left", "1 extension left", "2 extensions left". */
export function extensionsLeftText(n: number): string {
  return n === 0 ? 'no extensions left' : `${n} extension${n === 1 ? '' : 's'} left`;
}

/** "4:05", "1:02:03": the live countdown of the warning. */
export function exact(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const mm = String(Math.floor((s % 3600) / 60)).padStart(s >= 3600 ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}
