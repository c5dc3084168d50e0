/**
 * The grade outbox on the real database (FerretDB): leases keep two jobs
 * (two server processes) from sending the same row at once, a newer score
 * wins over one in flight, a 409 on the retry of a send whose answer was lost
 * counts as delivered, other 4xx park the row until a newer score.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GradeOutboxJob, type ScoreDelivery, type ScoreSender } from '../../server/jobs/grade-outbox.js';
import { createLogger } from '../../server/log.js';
import type { Assignment } from '../../server/store/assignments.js';
import type { OutboxScore } from '../../server/store/grades.js';
import { Store } from '../../server/store/store.js';
import type { User } from '../../server/store/users.js';
import { testMongoUri } from '../support/server.js';

const uri = testMongoUri('lo-outbox');
let store: Store;
let assignment: Assignment;
const log = createLogger('silent');
const opts = { intervalSeconds: 0.05, retryMaxSeconds: 0.1, leaseSeconds: 30 };
const score = (scoreGiven: number): OutboxScore => ({
  scoreGiven,
  scoreMaximum: 10,
  activityProgress: 'InProgress',
  gradingProgress: 'FullyGraded',
  at: new Date().toISOString(),
});

beforeAll(async () => {
  store = await Store.connect(uri);
  const course = await store.users.upsertCourse('lti:https://lms.example#c1', 'Course');
  assignment = await store.assignments.upsert('lti:https://lms.example#link1', {
    courseId: course.id,
    title: 'Lab',
    labName: 'lab',
    lineItemUrl: 'https://lms.example/lineitems/1',
    issuer: 'https://lms.example',
    clientId: 'c',
    deploymentId: 'd',
  });
});
afterAll(async () => {
  await store?.dropDatabase();
  await store?.close();
});

const learner = (name: string) => store.users.upsert(`lti:https://lms.example#${name}`, { name });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sender standing for the LMS: records what arrives, may answer with a failure. */
class RecordingLms implements ScoreSender {
  readonly received: Array<{ user: string; scoreGiven: number; timestamp: string }> = [];
  readonly inFlight = new Set<string>();
  overlaps = 0;
  constructor(
    private readonly answer: (d: ScoreDelivery, n: number) => Promise<void> = async () => undefined,
    private readonly delayMs = 0,
  ) {}
  async send(d: ScoreDelivery): Promise<void> {
    if (this.inFlight.has(d.user.id)) this.overlaps++;
    this.inFlight.add(d.user.id);
    try {
      await sleep(this.delayMs);
      this.received.push({ user: d.user.name, scoreGiven: d.score.scoreGiven, timestamp: d.timestamp.toISOString() });
      await this.answer(d, this.received.length);
    } finally {
      this.inFlight.delete(d.user.id);
    }
  }
}

const statusError = (status: number) => Object.assign(new Error(`LMS answered ${status}`), { status });

describe('grade outbox', () => {
  it('never lets two jobs send the same row at once, and sends each score once', async () => {
    const users: User[] = [];
    for (let i = 0; i < 12; i++) users.push(await learner(`lease-${i}`));
    for (const u of users) await store.grades.enqueue(assignment.id, u.id, score(5));
    const lms = new RecordingLms(async () => undefined, 30);
    // Two senders on two connections, as two server processes would be.
    const other = await Store.connect(uri);
    const a = new GradeOutboxJob(store, lms, log, opts);
    const b = new GradeOutboxJob(other, lms, log, opts);
    const [sentByA, sentByB] = await Promise.all([a.round(), b.round()]);
    await other.close();
    expect(sentByA + sentByB).toBe(12);
    expect(sentByA).toBeGreaterThan(0);
    expect(sentByB).toBeGreaterThan(0);
    expect(lms.overlaps).toBe(0);
    expect(lms.received.filter((r) => r.user.startsWith('lease-'))).toHaveLength(12);
    for (const u of users) expect((await store.grades.get(assignment.id, u.id))?.pending).toBe(false);
  });

  it('sends the newer score that arrived while an older one was in flight, one second later', async () => {
    const u = await learner('newer');
    await store.grades.enqueue(assignment.id, u.id, score(3));
    let enqueued = false;
    const lms = new RecordingLms(async () => {
      if (!enqueued) {
        enqueued = true;
        await store.grades.enqueue(assignment.id, u.id, score(8));
      }
    });
    const job = new GradeOutboxJob(store, lms, log, opts);
    await job.round();
    expect(lms.received.map((r) => r.scoreGiven)).toEqual([3, 8]);
    const [first, second] = lms.received.map((r) => Date.parse(r.timestamp));
    expect(second! - first!).toBeGreaterThanOrEqual(1000);
    expect(await store.grades.get(assignment.id, u.id)).toMatchObject({ pending: false, score: { scoreGiven: 8 } });
  });

  it('counts a 409 on the retry of a send whose answer was lost as delivered', async () => {
    const u = await learner('lost-answer');
    await store.grades.enqueue(assignment.id, u.id, score(6));
    // First try: the LMS stores it but the connection drops; the retry with the same timestamp gets 409.
    const lms = new RecordingLms(async (_d, n) => {
      throw n === 1 ? statusError(0) : statusError(409);
    });
    const job = new GradeOutboxJob(store, lms, log, opts);
    await job.round();
    await sleep(150);
    await job.round();
    expect(lms.received).toHaveLength(2);
    expect(lms.received[0]!.timestamp).toBe(lms.received[1]!.timestamp);
    expect(await store.grades.get(assignment.id, u.id)).toMatchObject({ pending: false, sentSequence: 1 });
  });

  it('parks a score the LMS refuses (400) until a newer one arrives', async () => {
    const u = await learner('refused');
    await store.grades.enqueue(assignment.id, u.id, score(1));
    let refuse = true;
    const lms = new RecordingLms(async () => {
      if (refuse) throw statusError(400);
    });
    const job = new GradeOutboxJob(store, lms, log, opts);
    await job.round();
    await sleep(150);
    await job.round();
    expect(lms.received).toHaveLength(1);
    const parked = await store.grades.get(assignment.id, u.id);
    expect(parked).toMatchObject({ pending: false, sentSequence: -1 });
    expect(parked!.lastError).toMatch(/400/);

    refuse = false;
    await store.grades.enqueue(assignment.id, u.id, score(2));
    await job.round();
    expect(lms.received.map((r) => r.scoreGiven)).toEqual([1, 2]);
    expect(await store.grades.get(assignment.id, u.id)).toMatchObject({ pending: false, sentSequence: 2 });
  });
});
