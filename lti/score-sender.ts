/**
 * @file The grade outbox's sender (server/jobs/grade-outbox.ts): a score
 * of an LTI assignment goes to its line item at the LMS by AGS, for the
 * user's LMS subject. A refusal carries the status the outbox decides on
 * (400: parked until a newer score).
 */
import type { ScoreDelivery, ScoreSender } from '../server/jobs/grade-outbox.js';
import { subjectOf } from './claims.js';
import type { PlatformServices } from './services.js';

export function agsScoreSender(services: PlatformServices): ScoreSender {
  return {
    send: async (d: ScoreDelivery) => {
      const { assignment, user } = d;
      if (!assignment.lineItemUrl || !assignment.issuer || !assignment.clientId) {
        throw Object.assign(new Error('this assignment has no line item: the LMS did not grant AGS'), {
          status: 400,
        });
      }
      const sub = subjectOf(user.key, assignment.issuer);
      if (!sub) throw Object.assign(new Error('this user did not come from that LMS'), { status: 400 });
      await services.postScore(assignment.issuer, assignment.clientId, assignment.lineItemUrl, {
        userId: sub,
        scoreGiven: d.score.scoreGiven,
        scoreMaximum: d.score.scoreMaximum,
        activityProgress: d.score.activityProgress,
        gradingProgress: d.score.gradingProgress,
        timestamp: d.timestamp.toISOString(),
      });
    },
  };
}
