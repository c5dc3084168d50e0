/**
 * @file What a score must be to enter the gradebook, as Moodle and Canvas
 * check it (AGS 2.0 §3.4; LTI-NOTES.md): the required fields, scoreMaximum
 * with scoreGiven, the user a learner of the course, the timestamp later (in
 * whole seconds, as Moodle stores it) than the last one or, for Canvas, not
 * older, and a grade only for the gradingProgress values that record one.
 * Pure: no I/O.
 */
import { z } from 'zod';
import { PlatformError } from './errors.js';
import type { GradebookEntry, LineItem, Membership, Score } from './model.js';
import { ACTIVITY_PROGRESS, GRADING_PROGRESS, type GradingProgress, ROLE } from './vocabulary.js';

const isoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });

export const scoreSchema = z
  .object({
    userId: z.string().min(1),
    scoreGiven: z.number().min(0).optional(),
    scoreMaximum: z.number().positive().optional(),
    comment: z.string().optional(),
    timestamp: isoDateTime,
    activityProgress: z.enum(ACTIVITY_PROGRESS),
    gradingProgress: z.enum(GRADING_PROGRESS),
    submission: z.object({ startedAt: isoDateTime.optional(), submittedAt: isoDateTime.optional() }).optional(),
  })
  .refine((s) => s.scoreGiven === undefined || s.scoreMaximum !== undefined, {
    path: ['scoreMaximum'],
    message: 'is required when scoreGiven is sent',
  });

/** A readable message naming each bad field, for a 400. */
export function zodProblems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

export function parseScore(body: unknown): Score {
  const parsed = scoreSchema.safeParse(body);
  if (!parsed.success) throw new PlatformError(400, 'invalid_request', `invalid score: ${zodProblems(parsed.error)}`);
  return parsed.data;
}

/** The gradebook entry a score produces, or the refusal. */
export function applyScore(input: {
  score: Score;
  lineItem: LineItem;
  membership: Membership | undefined;
  previous: GradebookEntry | undefined;
  gradedProgress: readonly GradingProgress[];
  flavour: 'moodle' | 'canvas';
}): GradebookEntry {
  const { score, lineItem, membership, previous, flavour } = input;
  if (membership?.status !== 'Active' || !membership.roles.includes(ROLE.learner)) {
    throw new PlatformError(
      flavour === 'canvas' ? 422 : 400,
      'invalid_request',
      `userId ${score.userId} is not a learner of course ${lineItem.courseId}`,
    );
  }
  const timestampMs = Date.parse(score.timestamp);
  const seconds = (ms: number) => Math.floor(ms / 1000);
  if (previous && flavour === 'moodle' && seconds(timestampMs) <= seconds(previous.timestampMs)) {
    throw new PlatformError(
      409,
      'conflict',
      `score timestamp ${score.timestamp} is not later than the last one stored for user ${score.userId} (${previous.score.timestamp}; compared in whole seconds)`,
    );
  }
  if (previous && flavour === 'canvas' && timestampMs < previous.timestampMs) {
    throw new PlatformError(
      400,
      'invalid_request',
      `score timestamp ${score.timestamp} is older than the last one stored for user ${score.userId} (${previous.score.timestamp})`,
    );
  }
  const graded = input.gradedProgress.includes(score.gradingProgress) && score.scoreGiven !== undefined;
  const grade = graded ? round((score.scoreGiven! / score.scoreMaximum!) * lineItem.scoreMaximum) : null;
  return { lineItemId: lineItem.id, userId: score.userId, grade, score, timestampMs };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
