import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../runtime/runtime.js';
import {
  type BackgroundCheckInput,
  type CheckDefinition,
  checkCommand,
  checkErrorOutcome,
  DEFAULT_BACKGROUND_POLICY,
  interpretCheckResult,
  planBackgroundChecks,
} from './checks.js';
import type { TutorialOutline } from './progress.js';

const ping: CheckDefinition = { system: 'client', run: 'ping -c1 -W1 server', timeout: 10 };
const exec = (exitCode: number, timedOut = false) => ({ exitCode, stdout: '', stderr: '', timedOut });

describe('checkCommand', () => {
  it('runs a string with sh -c', () => {
    expect(checkCommand(ping)).toEqual({ system: 'client', argv: ['sh', '-c', 'ping -c1 -W1 server'], timeout: 10 });
  });

  it('passes an argv as written, as a copy', () => {
    const check: CheckDefinition = { system: 'server', run: ['test', '-f', '/etc/motd'], timeout: 5 };
    const command = checkCommand(check);
    expect(command).toEqual({ system: 'server', argv: ['test', '-f', '/etc/motd'], timeout: 5 });
    command.argv.push('x');
    expect(check.run).toHaveLength(3);
  });
});

describe('interpretCheckResult', () => {
  const step = { hint: 'Is `server` up? Try `ip a` on it.' };

  it('is done on exit 0, without the hint', () => {
    expect(interpretCheckResult(step, ping, exec(0))).toEqual({ passed: true, message: 'done' });
  });

  it('is not done on another exit, with the hint', () => {
    expect(interpretCheckResult(step, ping, exec(1))).toEqual({
      passed: false,
      message: 'not done yet (the check exited with 1)',
      hint: step.hint,
    });
    expect(interpretCheckResult({}, ping, exec(2))).toEqual({
      passed: false,
      message: 'not done yet (the check exited with 2)',
    });
  });

  it('is not done when the check timed out, whatever the exit code', () => {
    expect(interpretCheckResult(step, ping, exec(0, true))).toEqual({
      passed: false,
      message: 'the check timed out after 10s',
      hint: step.hint,
    });
  });

  it('says why a check could not run, without blaming the learner', () => {
    expect(checkErrorOutcome(ping, new RuntimeError('system "client" is not ready (booting)'))).toEqual({
      passed: false,
      message: 'the check could not run on client: system "client" is not ready (booting)',
    });
  });
});

describe('planBackgroundChecks', () => {
  const check = (system: string): CheckDefinition => ({ system, run: 'true', timeout: 10 });
  const tutorial: TutorialOutline = {
    pages: [
      {
        title: 'One',
        steps: [
          { id: 'a', points: 1, check: check('client') },
          { id: 'manual', points: 1 },
          { id: 'b', points: 1, check: check('server') },
        ],
      },
      {
        title: 'Two',
        steps: ['c', 'd', 'e', 'f', 'g', 'h'].map((id) => ({ id, points: 1, check: check('client') })),
      },
    ],
  };
  const now = 1_000_000;
  const base: BackgroundCheckInput = {
    tutorial,
    states: {},
    openPage: { index: 0, seenAt: now - 1000 },
    running: true,
    roundInFlight: false,
    round: 0,
    now,
  };
  const ids = (input: Partial<BackgroundCheckInput>) => {
    const plan = planBackgroundChecks({ ...base, ...input });
    return plan.due ? plan.steps.map((s) => s.id) : plan.reason;
  };

  it('checks the open page’s checked steps that are not done', () => {
    expect(ids({})).toEqual(['a', 'b']);
    const doneA = { a: { done: true, at: 'x', by: 'check' as const, attempts: 0 } };
    expect(ids({ states: doneA })).toEqual(['b']);
    const plan = planBackgroundChecks(base);
    expect(plan.due && plan.steps[0]).toEqual({ id: 'a', check: check('client') });
  });

  it('waits the interval after the last round', () => {
    const interval = DEFAULT_BACKGROUND_POLICY.intervalSeconds * 1000;
    expect(planBackgroundChecks({ ...base, lastRoundAt: now - interval + 1 })).toEqual({
      due: false,
      reason: 'checked recently',
      notBefore: now + 1,
    });
    expect(ids({ lastRoundAt: now - interval })).toEqual(['a', 'b']);
    expect(ids({ lastRoundAt: now - 1 })).toBe('checked recently');
    expect(
      planBackgroundChecks({ ...base, lastRoundAt: now - 1 }, { ...DEFAULT_BACKGROUND_POLICY, intervalSeconds: 0 }).due,
    ).toBe(true);
  });

  it('runs one round at a time per instance', () => {
    expect(ids({ roundInFlight: true })).toBe('a round is under way');
  });

  it('does not check an instance that is not running or has no page open', () => {
    expect(ids({ running: false })).toBe('the instance is not running');
    expect(ids({ openPage: undefined })).toBe('no page is open');
    const stale = (DEFAULT_BACKGROUND_POLICY.pageStaleAfterSeconds + 1) * 1000;
    expect(ids({ openPage: { index: 0, seenAt: now - stale } })).toBe('no page is open');
    expect(ids({ openPage: { index: 7, seenAt: now } })).toBe('no page 7 in this tutorial');
  });

  it('has nothing to do when every checked step of the page is done', () => {
    const states = Object.fromEntries(
      ['a', 'b'].map((id) => [id, { done: true, at: 'x', by: 'check' as const, attempts: 1 }]),
    );
    expect(ids({ states })).toBe('every checked step of the page is done');
  });

  it('caps a round and rotates through many open steps', () => {
    const page = { index: 1, seenAt: now };
    const rounds = [0, 1, 2].map((round) => ids({ openPage: page, round }));
    expect(rounds).toEqual([
      ['c', 'd', 'e', 'f'],
      ['g', 'h', 'c', 'd'],
      ['e', 'f', 'g', 'h'],
    ]);
    const seen = new Set(rounds.flat());
    expect(seen.size).toBe(6);
  });
});
