/**
 * @file Who may do what (pure). Roles: admin (global); instructor and learner
 * per course. A learner reaches only their own instances; an instructor also
 * the instances of their courses; an admin everything.
 */
import type { Membership, User } from '../store/users.js';

export interface Principal {
  user: User;
  memberships: Membership[];
}

export const isAdmin = (p: Principal) => p.user.admin;

export const instructsCourse = (p: Principal, courseId: string | undefined) =>
  courseId !== undefined && p.memberships.some((m) => m.courseId === courseId && m.role === 'instructor');

export const instructedCourses = (p: Principal) =>
  p.memberships.filter((m) => m.role === 'instructor').map((m) => m.courseId);

/** Labs are written by admins and by instructors (of any course). */
export const canAuthorLabs = (p: Principal) => isAdmin(p) || instructedCourses(p).length > 0;

export const canEditLab = (p: Principal, lab: { ownerId: string }) => isAdmin(p) || lab.ownerId === p.user.id;

/** Seeing and acting on an instance, and opening its consoles. */
export const canReachInstance = (p: Principal, instance: { ownerId: string; courseId?: string }) =>
  isAdmin(p) || instance.ownerId === p.user.id || instructsCourse(p, instance.courseId);
