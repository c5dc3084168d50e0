import { describe, expect, it } from 'vitest';
import { type ProgressRow, toCsv } from './progress.js';

const row = (over: Partial<ProgressRow>): ProgressRow => ({
  learner: { id: 'u1', name: 'Ada' },
  instanceId: 'i1',
  lab: 'net',
  labVersion: 2,
  state: 'running',
  lastActivityAt: '2026-11-25T10:00:00.000Z',
  score: 2 / 3,
  stepsDone: 2,
  stepsTotal: 3,
  steps: { a: true, b: false, c: true },
  ...over,
});

describe('progress CSV', () => {
  it('has a header, one line per learner, 1/0 per step, CRLF line ends', () => {
    const columns = ['a', 'b', 'c'].map((id) => ({ lab: 'net', id, page: 'P' }));
    expect(toCsv(columns, [row({})])).toBe(
      'learner,learner_id,instance,lab,version,state,last_activity,score,steps_done,steps_total,a,b,c\r\n' +
        'Ada,u1,i1,net,2,running,2026-11-25T10:00:00.000Z,0.6667,2,3,1,0,1\r\n',
    );
  });

  it('quotes separators and never lets a cell start a formula', () => {
    const csv = toCsv(
      [],
      [row({ learner: { id: 'u2', name: '=HYPERLINK("x"),"y"' } }), row({ learner: { id: 'u3', name: '@cmd' } })],
    );
    const [, first, second] = csv.split('\r\n');
    expect(first!.startsWith(`"'=HYPERLINK(""x""),""y""",u2,`)).toBe(true);
    expect(second!.startsWith(`"'@cmd",u3,`)).toBe(true);
  });

  it("names steps by lab when the table spans labs, and leaves other labs' steps empty", () => {
    const columns = [
      { lab: 'net', id: 'a', page: 'P' },
      { lab: 'vm', id: 'a', page: 'Q' },
    ];
    const csv = toCsv(columns, [row({ steps: { a: true } })]);
    expect(csv.split('\r\n')[0]!.endsWith(',net/a,vm/a')).toBe(true);
    expect(csv.split('\r\n')[1]!.endsWith(',1,')).toBe(true);
  });
});
