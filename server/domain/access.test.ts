import { describe, expect, it } from 'vitest';
import { canAuthorLabs, canEditLab, canReachInstance, type Principal } from './access.js';

const user = (id: string, admin = false) => ({ id, key: `local:${id}`, name: id, admin });
const learner: Principal = { user: user('l1'), memberships: [{ courseId: 'c1', role: 'learner' }] };
const otherLearner: Principal = { user: user('l2'), memberships: [{ courseId: 'c1', role: 'learner' }] };
const teacher: Principal = { user: user('t1'), memberships: [{ courseId: 'c1', role: 'instructor' }] };
const otherTeacher: Principal = { user: user('t2'), memberships: [{ courseId: 'c2', role: 'instructor' }] };
const admin: Principal = { user: user('a1', true), memberships: [] };

describe('access rules', () => {
  const instance = { ownerId: 'l1', courseId: 'c1' };

  it('lets the owner, the course instructors and admins reach an instance', () => {
    expect(canReachInstance(learner, instance)).toBe(true);
    expect(canReachInstance(teacher, instance)).toBe(true);
    expect(canReachInstance(admin, instance)).toBe(true);
  });

  it('keeps everyone else out', () => {
    expect(canReachInstance(otherLearner, instance)).toBe(false);
    expect(canReachInstance(otherTeacher, instance)).toBe(false);
    expect(canReachInstance(teacher, { ownerId: 'l1' })).toBe(false);
  });

  it('lets only admins and instructors author labs, and only owners edit theirs', () => {
    expect(canAuthorLabs(learner)).toBe(false);
    expect(canAuthorLabs(teacher)).toBe(true);
    expect(canAuthorLabs(admin)).toBe(true);
    expect(canEditLab(teacher, { ownerId: 't1' })).toBe(true);
    expect(canEditLab(otherTeacher, { ownerId: 't1' })).toBe(false);
    expect(canEditLab(admin, { ownerId: 't1' })).toBe(true);
  });
});
