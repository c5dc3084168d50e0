/**
 * @file Progress through a tutorial, pure: which steps are done, per page and
 * overall, the points, and the score (0..1) that goes to the LMS gradebook.
 *
 * Rules (docs/tutorials.md says them to authors):
 * - A step with a check is done only by its check; a step without one only by
 *   the learner's tick (and may be unticked).
 * - Done by a check is for good: a later failing check (the learner undid the
 *   work) does not take points away, so a grade never flaps.
 * - Failed checks the learner asked for count as attempts and keep the last
 *   message; failed background checks change nothing (they run every few
 *   seconds and must not write to the database each time).
 * - Score: points earned / points possible. A tutorial whose steps all carry
 *   0 points weighs every step the same; a tutorial without steps scores 0
 *   (a sandbox has nothing to grade).
 * - Steps no longer in the lab (a new version) are ignored, not counted.
 */
import type { StepDefinition } from '../lab/schema.js';

/** What the progress model needs of a lab's tutorial (a `LabDefinition['tutorial']` fits). */
export interface TutorialOutline {
  pages: ReadonlyArray<{ title: string; steps: ReadonlyArray<Pick<StepDefinition, 'id' | 'points' | 'check'>> }>;
  keepProgressOnReset?: boolean;
}

export interface StepState {
  done: boolean;
  /** ISO-8601 time of the last change. */
  at: string;
  /** What made the step done (or last touched it). */
  by: 'check' | 'tick';
  /** Checks the learner asked for. */
  attempts: number;
  /** What the last check said, for the step list ("the check timed out after 10s"). */
  lastMessage?: string;
}

/** Step states by step id, for one instance and user. */
export type StepStates = Readonly<Record<string, StepState>>;

export interface Tally {
  stepsDone: number;
  stepsTotal: number;
  pointsEarned: number;
  pointsPossible: number;
}

export interface PageProgress extends Tally {
  index: number;
  title: string;
}

export interface Progress extends Tally {
  pages: PageProgress[];
  /** 0..1, see the file header for the rule. */
  score: number;
  /** What the score is out of, for AGS: points, or steps when no step carries points. */
  scoreGiven: number;
  scoreMaximum: number;
}

export function computeProgress(tutorial: TutorialOutline, states: StepStates): Progress {
  const pages = tutorial.pages.map((page, index): PageProgress => {
    const tally: Tally = { stepsDone: 0, stepsTotal: 0, pointsEarned: 0, pointsPossible: 0 };
    for (const step of page.steps) {
      const done = Object.hasOwn(states, step.id) && states[step.id]!.done;
      tally.stepsTotal += 1;
      tally.pointsPossible += step.points;
      if (done) {
        tally.stepsDone += 1;
        tally.pointsEarned += step.points;
      }
    }
    return { index, title: page.title, ...tally };
  });
  const sum = (key: keyof Tally) => pages.reduce((total, page) => total + page[key], 0);
  const tally: Tally = {
    stepsDone: sum('stepsDone'),
    stepsTotal: sum('stepsTotal'),
    pointsEarned: sum('pointsEarned'),
    pointsPossible: sum('pointsPossible'),
  };
  const byPoints = tally.pointsPossible > 0;
  const scoreGiven = byPoints ? tally.pointsEarned : tally.stepsDone;
  const scoreMaximum = byPoints ? tally.pointsPossible : tally.stepsTotal;
  return {
    ...tally,
    pages,
    score: scoreMaximum > 0 ? scoreGiven / scoreMaximum : 0,
    scoreGiven,
    scoreMaximum: scoreMaximum > 0 ? scoreMaximum : 1,
  };
}

/** The result of a check, or a learner's tick, for one step. */
export type StepResult =
  | { kind: 'check'; stepId: string; passed: boolean; message?: string; trigger: 'user' | 'background'; at: string }
  | { kind: 'tick'; stepId: string; done: boolean; at: string };

export type StepUpdate =
  | {
      kind: 'applied';
      states: StepStates;
      /** Something to store (attempts, message or done changed). */
      changed: boolean;
      /** Done steps changed: emit exactly one ProgressEvent. */
      progressChanged: boolean;
      progress: Progress;
    }
  | { kind: 'refused'; message: string };

function findStep(tutorial: TutorialOutline, stepId: string) {
  for (const page of tutorial.pages) {
    const step = page.steps.find((s) => s.id === stepId);
    if (step !== undefined) return step;
  }
  return undefined;
}

/** Applies one step result; the states given are not modified. */
export function applyStepResult(tutorial: TutorialOutline, states: StepStates, result: StepResult): StepUpdate {
  const step = findStep(tutorial, result.stepId);
  if (step === undefined) return { kind: 'refused', message: `no step "${result.stepId}" in this tutorial` };
  const before = Object.hasOwn(states, step.id) ? states[step.id] : undefined;
  let after: StepState | undefined;

  if (result.kind === 'tick') {
    if (step.check !== undefined)
      return { kind: 'refused', message: `step "${step.id}" is checked automatically; it cannot be ticked by hand` };
    if ((before?.done ?? false) !== result.done)
      after = { done: result.done, at: result.at, by: 'tick', attempts: before?.attempts ?? 0 };
  } else {
    if (step.check === undefined)
      return { kind: 'refused', message: `step "${step.id}" has no check; tick it when it is done` };
    if (before?.done) {
      // Done for good; a check the learner asked for still counts as an attempt.
      if (result.trigger === 'user') after = { ...before, attempts: before.attempts + 1 };
    } else if (result.passed) {
      after = {
        done: true,
        at: result.at,
        by: 'check',
        attempts: (before?.attempts ?? 0) + (result.trigger === 'user' ? 1 : 0),
        ...(result.message !== undefined && { lastMessage: result.message }),
      };
    } else if (result.trigger === 'user') {
      after = {
        done: false,
        at: result.at,
        by: 'check',
        attempts: (before?.attempts ?? 0) + 1,
        ...(result.message !== undefined && { lastMessage: result.message }),
      };
    }
  }

  const next = after === undefined ? states : { ...states, [step.id]: after };
  return {
    kind: 'applied',
    states: next,
    changed: after !== undefined,
    progressChanged: (before?.done ?? false) !== (after?.done ?? before?.done ?? false),
    progress: computeProgress(tutorial, next),
  };
}

/** Step states after a reset of the lab, by the lab's `keepProgressOnReset` (default: keep). */
export function statesAfterReset(
  tutorial: TutorialOutline,
  states: StepStates,
): { states: StepStates; progressChanged: boolean; progress: Progress } {
  if (tutorial.keepProgressOnReset ?? true)
    return { states, progressChanged: false, progress: computeProgress(tutorial, states) };
  const cleared: StepStates = {};
  const hadDone = tutorial.pages.some((page) =>
    page.steps.some((s) => Object.hasOwn(states, s.id) && states[s.id]!.done),
  );
  return { states: cleared, progressChanged: hadDone, progress: computeProgress(tutorial, cleared) };
}

/** AGS `activityProgress` (LTI Assignment and Grade Services 2.0, Score). */
export type ActivityProgress = 'Initialized' | 'Started' | 'InProgress' | 'Submitted' | 'Completed';
/** AGS `gradingProgress`. */
export type GradingProgress = 'FullyGraded' | 'Pending' | 'PendingManual' | 'Failed' | 'NotReady';

/** Whose progress it is. */
export interface ProgressSubject {
  instanceId: string;
  userId: string;
  labName: string;
  labVersion: number;
  /** The LMS assignment the instance was launched from, if any. */
  assignmentId?: string;
}

/** One change of a learner's progress, in AGS words, for the grading path. */
export interface ProgressEvent extends ProgressSubject {
  /** 0..1. */
  score: number;
  scoreGiven: number;
  scoreMaximum: number;
  stepsDone: number;
  stepsTotal: number;
  activityProgress: ActivityProgress;
  gradingProgress: GradingProgress;
  /** ISO-8601 time of the change; the outbox keeps AGS timestamps increasing. */
  at: string;
}

/**
 * Receives every change of progress (the LTI grade outbox is one).
 * Contract: called exactly once per change, after the new step states are
 * stored, with changes of one instance in order. It must be durable before it
 * resolves (enqueue, do not send), and may see the same event again after a
 * crash, so it must tolerate repeats (latest score wins).
 */
export interface ProgressListener {
  progressChanged(event: ProgressEvent): Promise<void>;
}

export function activityProgress(progress: Progress): ActivityProgress {
  if (progress.stepsTotal > 0 && progress.stepsDone === progress.stepsTotal) return 'Completed';
  return progress.stepsDone > 0 ? 'InProgress' : 'Started';
}

/**
 * The event for a progress. The score stands as it is at every moment (there
 * is no "submit"), so it is always `FullyGraded`: Moodle and Canvas record
 * `scoreGiven` only then.
 */
export function progressEvent(subject: ProgressSubject, progress: Progress, at: string): ProgressEvent {
  return {
    instanceId: subject.instanceId,
    userId: subject.userId,
    labName: subject.labName,
    labVersion: subject.labVersion,
    ...(subject.assignmentId !== undefined && { assignmentId: subject.assignmentId }),
    score: progress.score,
    scoreGiven: progress.scoreGiven,
    scoreMaximum: progress.scoreMaximum,
    stepsDone: progress.stepsDone,
    stepsTotal: progress.stepsTotal,
    activityProgress: activityProgress(progress),
    gradingProgress: 'FullyGraded',
    at,
  };
}
