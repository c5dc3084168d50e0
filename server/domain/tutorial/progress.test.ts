import { describe, expect, it } from 'vitest';
import { labSchema } from '../lab/schema.js';
import {
  applyStepResult,
  computeProgress,
  type ProgressSubject,
  progressEvent,
  type StepResult,
  type StepStates,
  statesAfterReset,
  type TutorialOutline,
} from './progress.js';

const check = { system: 'client', run: 'true', timeout: 10 };
const tutorial: TutorialOutline = {
  pages: [
    {
      title: 'Reach the server',
      steps: [
        { id: 'ping', points: 2, check },
        { id: 'read', points: 1 },
      ],
    },
    { title: 'Serve', steps: [{ id: 'nginx', points: 3, check }] },
  ],
};
const at = '2026-11-25T05:00:00.000Z';
const done = (by: 'check' | 'tick') => ({ done: true, at, by, attempts: 0 });

function applied(states: StepStates, result: StepResult, outline = tutorial) {
  const update = applyStepResult(outline, states, result);
  if (update.kind !== 'applied') throw new Error(update.message);
  return update;
}

describe('computeProgress', () => {
  it('counts nothing done at the start', () => {
    const progress = computeProgress(tutorial, {});
    expect(progress).toMatchObject({ stepsDone: 0, stepsTotal: 3, pointsEarned: 0, pointsPossible: 6, score: 0 });
    expect(progress.pages.map((p) => [p.title, p.stepsTotal, p.pointsPossible])).toEqual([
      ['Reach the server', 2, 3],
      ['Serve', 1, 3],
    ]);
  });

  it('weighs the score by points, per page and overall', () => {
    const progress = computeProgress(tutorial, { ping: done('check'), nginx: done('check') });
    expect(progress).toMatchObject({
      stepsDone: 2,
      pointsEarned: 5,
      pointsPossible: 6,
      scoreGiven: 5,
      scoreMaximum: 6,
    });
    expect(progress.score).toBeCloseTo(5 / 6);
    expect(progress.pages[0]).toMatchObject({ index: 0, stepsDone: 1, stepsTotal: 2, pointsEarned: 2 });
    expect(progress.pages[1]).toMatchObject({ index: 1, stepsDone: 1, stepsTotal: 1, pointsEarned: 3 });
  });

  it('weighs every step the same when no step carries points', () => {
    const free: TutorialOutline = {
      pages: [{ title: 'A', steps: ['a', 'b', 'c', 'd'].map((id) => ({ id, points: 0 })) }],
    };
    const progress = computeProgress(free, { a: done('tick') });
    expect(progress).toMatchObject({ score: 0.25, scoreGiven: 1, scoreMaximum: 4, pointsPossible: 0 });
  });

  it('scores 0 out of 1 for a tutorial without steps', () => {
    expect(computeProgress({ pages: [] }, {})).toMatchObject({
      score: 0,
      scoreGiven: 0,
      scoreMaximum: 1,
      stepsTotal: 0,
    });
    expect(computeProgress({ pages: [{ title: 'Intro', steps: [] }] }, {}).score).toBe(0);
  });

  it('ignores states of steps the lab no longer has and steps not done', () => {
    const progress = computeProgress(tutorial, { gone: done('check'), read: { ...done('tick'), done: false } });
    expect(progress.stepsDone).toBe(0);
  });

  it('accepts a parsed lab tutorial as it is', () => {
    const lab = labSchema.parse({
      name: 'x',
      title: 'X',
      systems: [{ name: 'client', kind: 'container', image: 'i' }],
      tutorial: {
        pages: [
          { title: 'P', body: 'p.md', steps: [{ id: 's', text: 'Do', check: { system: 'client', run: 'true' } }] },
        ],
      },
    });
    expect(computeProgress(lab.tutorial, { s: done('check') })).toMatchObject({ score: 1, pointsPossible: 1 });
  });
});

describe('applyStepResult', () => {
  const userCheck = (stepId: string, passed: boolean, message?: string): StepResult => ({
    kind: 'check',
    stepId,
    passed,
    trigger: 'user',
    at,
    ...(message !== undefined && { message }),
  });
  const backgroundCheck = (stepId: string, passed: boolean): StepResult => ({
    kind: 'check',
    stepId,
    passed,
    trigger: 'background',
    at,
  });

  it('marks a step done by its check and reports the change of progress', () => {
    const update = applied({}, userCheck('ping', true, 'done'));
    expect(update.states.ping).toEqual({ done: true, at, by: 'check', attempts: 1, lastMessage: 'done' });
    expect(update).toMatchObject({ changed: true, progressChanged: true });
    expect(update.progress.pointsEarned).toBe(2);
  });

  it('counts failed checks the learner asked for, with the last message, without progress', () => {
    let states: StepStates = {};
    for (const message of ['not done yet', 'the check timed out after 10s']) {
      const update = applied(states, userCheck('ping', false, message));
      expect(update).toMatchObject({ changed: true, progressChanged: false });
      states = update.states;
    }
    expect(states.ping).toEqual({
      done: false,
      at,
      by: 'check',
      attempts: 2,
      lastMessage: 'the check timed out after 10s',
    });
    const passed = applied(states, backgroundCheck('ping', true));
    expect(passed.states.ping).toMatchObject({ done: true, attempts: 2 });
    expect(passed.progressChanged).toBe(true);
  });

  it('changes nothing on a failed background check', () => {
    const states: StepStates = { ping: { done: false, at, by: 'check', attempts: 1, lastMessage: 'x' } };
    const update = applied(states, backgroundCheck('ping', false));
    expect(update).toMatchObject({ changed: false, progressChanged: false });
    expect(update.states).toBe(states);
  });

  it('keeps a step done by its check for good', () => {
    const states: StepStates = { ping: { done: true, at, by: 'check', attempts: 1 } };
    const background = applied(states, backgroundCheck('ping', false));
    expect(background).toMatchObject({ changed: false, progressChanged: false });
    const user = applied(states, userCheck('ping', false, 'not done yet'));
    expect(user.states.ping).toEqual({ done: true, at, by: 'check', attempts: 2 });
    expect(user).toMatchObject({ changed: true, progressChanged: false });
  });

  it('lets the learner tick and untick a step without a check', () => {
    const ticked = applied({}, { kind: 'tick', stepId: 'read', done: true, at });
    expect(ticked.states.read).toEqual({ done: true, at, by: 'tick', attempts: 0 });
    expect(ticked.progressChanged).toBe(true);
    const again = applied(ticked.states, { kind: 'tick', stepId: 'read', done: true, at });
    expect(again).toMatchObject({ changed: false, progressChanged: false });
    const unticked = applied(ticked.states, { kind: 'tick', stepId: 'read', done: false, at });
    expect(unticked.states.read?.done).toBe(false);
    expect(unticked.progressChanged).toBe(true);
    expect(unticked.progress.stepsDone).toBe(0);
  });

  it('refuses a tick of a checked step and a check of a manual step', () => {
    expect(applyStepResult(tutorial, {}, { kind: 'tick', stepId: 'ping', done: true, at })).toEqual({
      kind: 'refused',
      message: 'step "ping" is checked automatically; it cannot be ticked by hand',
    });
    expect(applyStepResult(tutorial, {}, userCheck('read', true))).toEqual({
      kind: 'refused',
      message: 'step "read" has no check; tick it when it is done',
    });
    expect(applyStepResult(tutorial, {}, userCheck('nope', true))).toEqual({
      kind: 'refused',
      message: 'no step "nope" in this tutorial',
    });
  });

  it('does not modify the states it was given', () => {
    const states: StepStates = Object.freeze({});
    applied(states, userCheck('ping', true));
    expect(states).toEqual({});
  });

  it('reports a change of progress exactly when the done steps change', () => {
    const results: StepResult[] = [
      backgroundCheck('ping', false),
      userCheck('ping', false),
      backgroundCheck('ping', true),
      backgroundCheck('ping', true),
      userCheck('ping', true),
      { kind: 'tick', stepId: 'read', done: true, at },
      { kind: 'tick', stepId: 'read', done: true, at },
      { kind: 'tick', stepId: 'read', done: false, at },
      backgroundCheck('nginx', true),
      { kind: 'tick', stepId: 'read', done: true, at },
    ];
    let states: StepStates = {};
    let events = 0;
    let previous = computeProgress(tutorial, states);
    for (const result of results) {
      const update = applied(states, result);
      const moved = update.progress.stepsDone !== previous.stepsDone || update.progress.score !== previous.score;
      expect(update.progressChanged, JSON.stringify(result)).toBe(moved);
      if (update.progressChanged) events += 1;
      states = update.states;
      previous = update.progress;
    }
    expect(events).toBe(5);
    expect(previous.score).toBe(1);
  });
});

describe('statesAfterReset', () => {
  const states: StepStates = { ping: done('check') };

  it('keeps progress by default', () => {
    expect(statesAfterReset(tutorial, states)).toMatchObject({ states, progressChanged: false });
    expect(statesAfterReset({ ...tutorial, keepProgressOnReset: true }, states).states).toBe(states);
  });

  it('clears progress when the lab says so, and reports a change only if something was done', () => {
    const cleared = statesAfterReset({ ...tutorial, keepProgressOnReset: false }, states);
    expect(cleared.states).toEqual({});
    expect(cleared.progressChanged).toBe(true);
    expect(cleared.progress.score).toBe(0);
    const failedOnly: StepStates = { ping: { done: false, at, by: 'check', attempts: 3 } };
    expect(statesAfterReset({ ...tutorial, keepProgressOnReset: false }, failedOnly).progressChanged).toBe(false);
  });
});

describe('progressEvent', () => {
  const subject: ProgressSubject = { instanceId: 'i-1', userId: 'u-1', labName: 'net-101', labVersion: 3 };

  it('speaks AGS', () => {
    const progress = computeProgress(tutorial, { ping: done('check') });
    expect(progressEvent({ ...subject, assignmentId: 'a-1' }, progress, at)).toEqual({
      instanceId: 'i-1',
      userId: 'u-1',
      labName: 'net-101',
      labVersion: 3,
      assignmentId: 'a-1',
      score: 2 / 6,
      scoreGiven: 2,
      scoreMaximum: 6,
      stepsDone: 1,
      stepsTotal: 3,
      activityProgress: 'InProgress',
      gradingProgress: 'FullyGraded',
      at,
    });
  });

  it('says Started with nothing done and Completed with everything done', () => {
    expect(progressEvent(subject, computeProgress(tutorial, {}), at).activityProgress).toBe('Started');
    const all = { ping: done('check'), read: done('tick'), nginx: done('check') };
    const event = progressEvent(subject, computeProgress(tutorial, all), at);
    expect(event).toMatchObject({ activityProgress: 'Completed', score: 1, scoreGiven: 6, scoreMaximum: 6 });
    expect(event).not.toHaveProperty('assignmentId');
  });
});
