import { describe, expect, it } from 'vitest';
import { canTransition, INSTANCE_ACTIONS, INSTANCE_STATES, planAction } from './state.js';

describe('instance state machine', () => {
  it('allows the lifecycle of DESIGN.md', () => {
    const path = ['requested', 'provisioning', 'running', 'paused', 'running', 'stopping', 'stopped'] as const;
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true);
    expect(canTransition('provisioning', 'failed')).toBe(true);
    expect(canTransition('failed', 'stopping')).toBe(true);
  });

  it('refuses illegal transitions', () => {
    expect(canTransition('stopped', 'running')).toBe(false);
    expect(canTransition('paused', 'stopped')).toBe(false);
    expect(canTransition('requested', 'running')).toBe(false);
    expect(canTransition('stopping', 'running')).toBe(false);
    expect(canTransition('failed', 'running')).toBe(false);
  });

  it('never plans a transition the machine does not allow', () => {
    for (const state of INSTANCE_STATES) {
      for (const action of INSTANCE_ACTIONS) {
        const plan = planAction(state, action);
        if (plan.kind === 'transition') expect(canTransition(state, plan.to), `${state} --${action}-->`).toBe(true);
      }
    }
  });

  it('treats repeated actions as no-ops', () => {
    expect(planAction('paused', 'pause')).toEqual({ kind: 'noop' });
    expect(planAction('running', 'resume')).toEqual({ kind: 'noop' });
    expect(planAction('stopped', 'stop')).toEqual({ kind: 'noop' });
    expect(planAction('running', 'start')).toEqual({ kind: 'noop' });
  });

  it('plans the actions of a user', () => {
    expect(planAction('running', 'pause')).toEqual({ kind: 'transition', to: 'paused', endsIn: 'paused' });
    expect(planAction('paused', 'resume')).toEqual({ kind: 'transition', to: 'running', endsIn: 'running' });
    expect(planAction('running', 'reset')).toEqual({ kind: 'transition', to: 'provisioning', endsIn: 'running' });
    expect(planAction('stopped', 'start')).toEqual({ kind: 'transition', to: 'provisioning', endsIn: 'running' });
    expect(planAction('running', 'stop')).toEqual({ kind: 'transition', to: 'stopping', endsIn: 'stopped' });
  });

  it('refuses with a message that names the action and the state', () => {
    const plan = planAction('stopped', 'pause');
    expect(plan.kind).toBe('refused');
    expect(plan.kind === 'refused' && plan.message).toMatch(/cannot pause an instance that is stopped/);
    expect(planAction('stopped', 'reset').kind).toBe('refused');
    expect(planAction('stopping', 'start').kind).toBe('refused');
  });
});
