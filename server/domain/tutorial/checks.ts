/**
 * @file Step checks, pure: what to hand to `Runtime.exec`, what its result
 * means for the learner, and when background checks may run. The service
 * that calls the runtime and stores the outcome sits outside domain/.
 */

import { errorMessage } from '../../errors.js';
import type { ExecResult } from '../../runtime/runtime.js';
import type { StepDefinition } from '../lab/schema.js';
import type { StepStates, TutorialOutline } from './progress.js';

export type CheckDefinition = NonNullable<StepDefinition['check']>;

export interface CheckCommand {
  system: string;
  argv: string[];
  /** Seconds. */
  timeout: number;
}

/** A string runs with `sh -c` (pipes and `&&` work); an array is the argv as written. */
export function checkCommand(check: CheckDefinition): CheckCommand {
  return {
    system: check.system,
    argv: typeof check.run === 'string' ? ['sh', '-c', check.run] : [...check.run],
    timeout: check.timeout,
  };
}

export interface CheckOutcome {
  passed: boolean;
  /** For the step list, in words a learner can read. */
  message: string;
  /** The author's hint, on failure only. */
  hint?: string;
}

const failed = (message: string, hint: string | undefined): CheckOutcome => ({
  passed: false,
  message,
  ...(hint !== undefined && { hint }),
});

/** Exit 0 is done; anything else, a timeout included, is not done yet. */
export function interpretCheckResult(
  step: Pick<StepDefinition, 'hint'>,
  check: CheckDefinition,
  result: ExecResult,
): CheckOutcome {
  if (result.timedOut) return failed(`the check timed out after ${check.timeout}s`, step.hint);
  if (result.exitCode === 0) return { passed: true, message: 'done' };
  return failed(`not done yet (the check exited with ${result.exitCode})`, step.hint);
}

/**
 * A check that could not run (the system is not ready, the runtime is
 * unreachable) says so; it is not the learner's failure, so no hint.
 */
export function checkErrorOutcome(check: CheckDefinition, error: unknown): CheckOutcome {
  return { passed: false, message: `the check could not run on ${check.system}: ${errorMessage(error)}` };
}

export interface BackgroundCheckPolicy {
  /** At most one round per instance every this many seconds. */
  intervalSeconds: number;
  /** At most this many checks in one round; the rest rotate into later rounds. */
  maxStepsPerRound: number;
  /** The open page counts as open while the workspace reported it this recently. */
  pageStaleAfterSeconds: number;
}

export const DEFAULT_BACKGROUND_POLICY: BackgroundCheckPolicy = {
  intervalSeconds: 5,
  maxStepsPerRound: 4,
  pageStaleAfterSeconds: 30,
};

export interface BackgroundCheckInput {
  tutorial: TutorialOutline;
  states: StepStates;
  /** Index of the page the workspace shows, and when it last said so (ms since the epoch). */
  openPage?: { index: number; seenAt: number };
  /** The instance is running (not paused, provisioning or stopped). */
  running: boolean;
  /** A round of this instance is still under way. */
  roundInFlight: boolean;
  /** When the last round of this instance started (ms since the epoch). */
  lastRoundAt?: number;
  /** How many rounds this instance had, to rotate through many open steps. */
  round: number;
  now: number;
}

export type BackgroundPlan =
  | { due: true; steps: Array<{ id: string; check: CheckDefinition }> }
  | { due: false; reason: string; notBefore?: number };

/**
 * Whether a background round is due for one instance, and which steps it
 * checks: only steps of the open page that have a check and are not done.
 */
export function planBackgroundChecks(
  input: BackgroundCheckInput,
  policy: BackgroundCheckPolicy = DEFAULT_BACKGROUND_POLICY,
): BackgroundPlan {
  if (!input.running) return { due: false, reason: 'the instance is not running' };
  const open = input.openPage;
  if (open === undefined || input.now - open.seenAt > policy.pageStaleAfterSeconds * 1000)
    return { due: false, reason: 'no page is open' };
  if (input.roundInFlight) return { due: false, reason: 'a round is under way' };
  const notBefore = (input.lastRoundAt ?? Number.NEGATIVE_INFINITY) + policy.intervalSeconds * 1000;
  if (input.now < notBefore) return { due: false, reason: 'checked recently', notBefore };

  const page = input.tutorial.pages[open.index];
  if (page === undefined) return { due: false, reason: `no page ${open.index} in this tutorial` };
  const pending = page.steps.flatMap((step) =>
    step.check !== undefined && !(Object.hasOwn(input.states, step.id) && input.states[step.id]!.done)
      ? [{ id: step.id, check: step.check }]
      : [],
  );
  if (pending.length === 0) return { due: false, reason: 'every checked step of the page is done' };
  const count = Math.min(policy.maxStepsPerRound, pending.length);
  const start = (input.round * count) % pending.length;
  const steps = Array.from({ length: count }, (_, i) => pending[(start + i) % pending.length]!);
  return { due: true, steps };
}
