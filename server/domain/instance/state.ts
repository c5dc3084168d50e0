/**
 * @file The instance state machine (DESIGN.md "Instance lifecycle"). Pure:
 * which actions are legal in which state, and where they lead. The database
 * applies a transition only if the instance is still in the state it was read
 * in (a conditional update), so concurrent actions cannot both win.
 *
 *   requested → provisioning → running ⇄ paused
 *                    │            │
 *                    └── failed   └→ stopping → stopped (runtime objects deleted)
 */

export const INSTANCE_STATES = [
  'requested',
  'provisioning',
  'running',
  'paused',
  'stopping',
  'stopped',
  'failed',
] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** What a user (or a job) asks of an instance. */
export const INSTANCE_ACTIONS = ['start', 'stop', 'pause', 'resume', 'reset'] as const;
export type InstanceAction = (typeof INSTANCE_ACTIONS)[number];

/** Every legal transition; anything else is refused. */
const TRANSITIONS: Record<InstanceState, readonly InstanceState[]> = {
  requested: ['provisioning', 'failed', 'stopping'],
  provisioning: ['running', 'failed', 'stopping'],
  running: ['paused', 'provisioning', 'stopping', 'failed'],
  paused: ['running', 'provisioning', 'stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: ['provisioning'],
  failed: ['provisioning', 'stopping'],
};

export function canTransition(from: InstanceState, to: InstanceState): boolean {
  return TRANSITIONS[from].includes(to);
}

export type ActionPlan =
  /** Nothing to do: the instance is already where the action leads (idempotent). */
  | { kind: 'noop' }
  /** Move to `to` now; the runtime work follows and ends in `endsIn`. */
  | { kind: 'transition'; to: InstanceState; endsIn: InstanceState }
  | { kind: 'refused'; message: string };

/** Where an action leads from a state: a transition, a no-op, or a refusal a user can read. */
export function planAction(state: InstanceState, action: InstanceAction): ActionPlan {
  const refuse = (why: string): ActionPlan => ({
    kind: 'refused',
    message: `cannot ${action} an instance that ${why}`,
  });
  switch (action) {
    case 'start':
      if (state === 'running' || state === 'provisioning' || state === 'requested') return { kind: 'noop' };
      if (state === 'stopped' || state === 'failed')
        return { kind: 'transition', to: 'provisioning', endsIn: 'running' };
      if (state === 'paused') return { kind: 'transition', to: 'running', endsIn: 'running' };
      return refuse('is stopping; wait until it has stopped');
    case 'stop':
      if (state === 'stopped' || state === 'stopping') return { kind: 'noop' };
      return { kind: 'transition', to: 'stopping', endsIn: 'stopped' };
    case 'pause':
      if (state === 'paused') return { kind: 'noop' };
      if (state === 'running') return { kind: 'transition', to: 'paused', endsIn: 'paused' };
      return refuse(`is ${state}; only a running instance can be paused`);
    case 'resume':
      if (state === 'running') return { kind: 'noop' };
      if (state === 'paused') return { kind: 'transition', to: 'running', endsIn: 'running' };
      return refuse(`is ${state}; only a paused instance can be resumed`);
    case 'reset':
      if (state === 'running' || state === 'paused')
        return { kind: 'transition', to: 'provisioning', endsIn: 'running' };
      return refuse(`is ${state}; start it instead`);
  }
}

/** States in which the runtime should have the instance's systems. */
export function expectsRuntimeObjects(state: InstanceState): boolean {
  return state === 'provisioning' || state === 'running' || state === 'paused';
}

/** States that count against quotas (the instance holds or will hold resources). */
export function isActive(state: InstanceState): boolean {
  return state !== 'stopped' && state !== 'failed';
}
