import { describe, expect, it } from 'vitest';
import {
  buildProgressTable,
  type ProgressAnswer,
  percent,
  plainText,
  stepKey,
  stepTitlesOf,
} from './progress-table.js';

const lab = {
  name: 'net',
  tutorial: {
    pages: [
      {
        steps: [
          { id: 'addr', text: 'Find your address' },
          { id: 'ping', text: 'Ping the server' },
        ],
      },
      { steps: [{ id: 'serve', text: 'Serve a page' }] },
    ],
  },
};

const progress: ProgressAnswer = {
  columns: [
    { lab: 'net', id: 'addr', page: 'Who is who' },
    { lab: 'net', id: 'ping', page: 'Who is who' },
    { lab: 'net', id: 'serve', page: 'A web server' },
  ],
  rows: [
    {
      learner: { id: 'u-zoe', name: 'Zoe' },
      instanceId: 'i2',
      lab: 'net',
      labVersion: 1,
      state: 'running',
      lastActivityAt: '2026-11-25T08:00:00.000Z',
      score: 0.25,
      stepsDone: 1,
      stepsTotal: 3,
      steps: { addr: true, ping: false, serve: false },
    },
    {
      learner: { id: 'u-alice', name: 'alice' },
      instanceId: 'i1',
      lab: 'net',
      labVersion: 1,
      state: 'paused',
      lastActivityAt: '2026-11-25T07:00:00.000Z',
      score: 1,
      stepsDone: 3,
      stepsTotal: 3,
      steps: { addr: true, ping: true, serve: true },
    },
  ],
};

describe('buildProgressTable', () => {
  it('groups the step columns by page, headed by the step texts', () => {
    const table = buildProgressTable(progress, undefined, stepTitlesOf(lab));
    expect(table.groups.map((g) => [g.page, g.steps.map((s) => s.title)])).toEqual([
      ['Who is who', ['Find your address', 'Ping the server']],
      ['A web server', ['Serve a page']],
    ]);
  });

  it('falls back to the step id when the lab is not known', () => {
    expect(buildProgressTable(progress, undefined).groups[0]!.steps[0]!.title).toBe('addr');
  });

  it('lists the started learners by name with their marks, state and score', () => {
    const table = buildProgressTable(progress, undefined);
    expect(table.rows.map((r) => [r.learner, r.state, r.steps, r.score])).toEqual([
      ['alice', 'paused', [true, true, true], 1],
      ['Zoe', 'running', [true, false, false], 0.25],
    ]);
    expect([table.started, table.notStarted]).toEqual([2, 0]);
  });

  it('adds the roster learners who have not started, after the others; not instructors, not inactive members', () => {
    const table = buildProgressTable(progress, [
      { userId: 'sub-alice', name: 'alice', status: 'Active', role: 'learner', user: { id: 'u-alice' } },
      { userId: 'sub-teacher', name: 'Tina', status: 'Active', role: 'instructor', user: { id: 'u-tina' } },
      { userId: 'sub-bob', name: 'Bob', status: 'Active', role: 'learner' },
      { userId: 'sub-carl', email: 'carl@example.edu', status: 'Active', role: 'learner', user: { id: 'u-carl' } },
      { userId: 'sub-dora', name: 'Dora', status: 'Inactive', role: 'learner' },
    ]);
    expect(table.rows.map((r) => [r.learner, r.state])).toEqual([
      ['alice', 'paused'],
      ['Zoe', 'running'],
      ['Bob', 'not started'],
      ['carl@example.edu', 'not started'],
    ]);
    const bob = table.rows[2]!;
    expect(bob.steps).toEqual([undefined, undefined, undefined]);
    expect(bob.score).toBeUndefined();
    expect([table.started, table.notStarted]).toEqual([2, 2]);
  });

  it('leaves the columns of another lab empty in a row', () => {
    const two: ProgressAnswer = {
      columns: [...progress.columns, { lab: 'web', id: 'curl', page: 'Fetch' }],
      rows: progress.rows,
    };
    const table = buildProgressTable(two, undefined);
    expect(table.groups.map((g) => `${g.lab}/${g.page}`)).toEqual(['net/Who is who', 'net/A web server', 'web/Fetch']);
    expect(table.rows[0]!.steps).toEqual([true, true, true, undefined]);
  });

  it('is empty without instances and roster', () => {
    expect(buildProgressTable({ columns: [], rows: [] }, [])).toEqual({
      groups: [],
      rows: [],
      started: 0,
      notStarted: 0,
    });
  });
});

describe('stepTitlesOf and percent', () => {
  it('keys the step texts by lab and step', () => {
    expect(stepTitlesOf(lab).get(stepKey('net', 'serve'))).toBe('Serve a page');
    expect(stepTitlesOf({ name: 'empty' }).size).toBe(0);
  });
  it('makes the step texts plain: no code marks, emphasis or link syntax', () => {
    expect(plainText('Write the address of `client` into **`~/a.txt`**, see [the page](http://x/).')).toBe(
      'Write the address of client into ~/a.txt, see the page.',
    );
    expect(
      stepTitlesOf({ name: 'n', tutorial: { pages: [{ steps: [{ id: 's', text: 'Ping `server`' }] }] } }).get(
        stepKey('n', 's'),
      ),
    ).toBe('Ping server');
  });
  it('shows a score as a whole percentage', () => {
    expect([percent(0), percent(0.256), percent(1)]).toEqual(['0 %', '26 %', '100 %']);
  });
});
