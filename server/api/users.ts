import { z } from 'zod';
import { instructsCourse, isAdmin } from '../domain/access.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import { hashPassword, newApiToken } from '../secrets.js';
import type { Store } from '../store/store.js';
import type { Course, CourseRole } from '../store/users.js';
import type { ApiRouter } from './routes.js';

const requireAdmin = (p: { user: { admin: boolean } }) => {
  if (!p.user.admin) throw forbidden('only admins may do this');
};

const tokenBody = z.object({
  name: z.string().min(1).max(100).default('api'),
  /** Days until the token expires; none = no expiry. */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
  /** Admins may create a token for another user. */
  userId: z.string().optional(),
});

const userBody = z.object({
  username: z.string().regex(/^[a-z][a-z0-9._-]{1,63}$/, 'expected 2–64 lower-case letters, digits, ".", "_" or "-"'),
  name: z.string().min(1).max(200),
  email: z.email().optional(),
  admin: z.boolean().default(false),
  password: z.string().min(10, 'expected at least 10 characters').optional(),
});

export function userRoutes(api: ApiRouter, store: Store): void {
  api.route(
    { method: 'get', path: '/users/me', tag: 'users', summary: 'The caller and their roles' },
    async ({ principal }) => ({
      ...principal.user,
      memberships: principal.memberships,
    }),
  );
  api.route({ method: 'get', path: '/users', tag: 'users', summary: 'All users (admins)' }, async ({ principal }) => {
    requireAdmin(principal);
    return store.users.list();
  });
  api.route(
    {
      method: 'post',
      path: '/users',
      tag: 'users',
      summary: 'Create a local user (admins)',
      body: userBody,
      status: 201,
    },
    async ({ principal, body }) => {
      requireAdmin(principal);
      const key = `local:${body.username}`;
      if (await store.users.byKey(key)) throw conflict(`a user named "${body.username}" exists already`);
      const user = await store.users.upsert(key, {
        name: body.name,
        admin: body.admin,
        ...(body.email ? { email: body.email } : {}),
      });
      if (body.password) await store.users.setPasswordHash(user.id, await hashPassword(body.password));
      await store.audit.record({ actorId: principal.user.id, action: 'user.create', target: `user:${user.id}` });
      return user;
    },
  );

  api.route(
    {
      method: 'post',
      path: '/courses',
      tag: 'courses',
      summary: 'Create a local course (admins); LMS courses come from LTI launches',
      body: z.object({ title: z.string().min(1).max(200), key: z.string().min(1).max(200).optional() }),
      status: 201,
    },
    async ({ principal, body }) => {
      requireAdmin(principal);
      const course = await store.users.upsertCourse(`local:${body.key ?? body.title}`, body.title);
      await store.audit.record({ actorId: principal.user.id, action: 'course.create', target: `course:${course.id}` });
      return course;
    },
  );
  api.route(
    {
      method: 'get',
      path: '/courses',
      tag: 'courses',
      summary: 'Courses (admins); mine=1: the courses the caller is a member of, with their role and assignments',
      query: z.object({ mine: z.enum(['1', 'true']).optional() }),
    },
    async ({ principal, query }) => {
      if (query.mine === undefined) {
        requireAdmin(principal);
        return store.users.listCourses();
      }
      const mine = await Promise.all(
        principal.memberships.map(async (m) => {
          const course = await store.users.getCourse(m.courseId);
          return course && (await courseView(store, course, m.role));
        }),
      );
      return mine.filter((c) => c !== undefined).sort((a, b) => a.title.localeCompare(b.title));
    },
  );
  api.route(
    {
      method: 'get',
      path: '/courses/:id',
      tag: 'courses',
      summary: 'A course with its assignments (its instructors, admins)',
    },
    async ({ principal, params }) => {
      const course = await store.users.getCourse(params.id!);
      if (!course) throw notFound(`course ${params.id}`);
      if (!isAdmin(principal) && !instructsCourse(principal, course.id))
        throw forbidden('only the instructors of this course (and admins) see it');
      return courseView(store, course, principal.memberships.find((m) => m.courseId === course.id)?.role);
    },
  );
  api.route(
    {
      method: 'put',
      path: '/courses/:id/members/:userId',
      tag: 'courses',
      summary: 'Give a user a role in a course (admins)',
      body: z.object({ role: z.enum(['instructor', 'learner']) }),
    },
    async ({ principal, params, body }) => {
      requireAdmin(principal);
      if (!(await store.users.getCourse(params.id!))) throw notFound(`course ${params.id}`);
      if (!(await store.users.get(params.userId!))) throw notFound(`user ${params.userId}`);
      await store.users.setMembership(params.id!, params.userId!, body.role);
      await store.audit.record({
        actorId: principal.user.id,
        action: 'course.member',
        target: `course:${params.id}`,
        details: { userId: params.userId, role: body.role },
      });
      return { courseId: params.id, userId: params.userId, role: body.role };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/tokens',
      tag: 'tokens',
      summary: 'Create an API token; the token is shown once, only its hash is stored',
      body: tokenBody,
      status: 201,
    },
    async ({ principal, body }) => {
      const userId = body.userId ?? principal.user.id;
      if (userId !== principal.user.id) {
        if (!isAdmin(principal)) throw forbidden('only admins may create tokens for other users');
        if (!(await store.users.get(userId))) throw badRequest(`userId: no user ${userId}`);
      }
      const { token, hash, prefix } = newApiToken();
      const created = await store.tokens.create({
        userId,
        name: body.name,
        hash,
        prefix,
        ...(body.expiresInDays ? { expiresAt: new Date(Date.now() + body.expiresInDays * 86_400_000) } : {}),
      });
      await store.audit.record({ actorId: principal.user.id, action: 'token.create', target: `token:${created.id}` });
      return { ...created, token };
    },
  );
  api.route(
    { method: 'get', path: '/tokens', tag: 'tokens', summary: "The caller's tokens (admins: all)" },
    async ({ principal }) => store.tokens.list(isAdmin(principal) ? undefined : principal.user.id),
  );
  api.route(
    { method: 'delete', path: '/tokens/:id', tag: 'tokens', summary: 'Revoke a token' },
    async ({ principal, params }) => {
      const token = await store.tokens.get(params.id!);
      if (!token || (token.userId !== principal.user.id && !isAdmin(principal))) throw notFound(`token ${params.id}`);
      await store.tokens.revoke(token.id);
      await store.audit.record({ actorId: principal.user.id, action: 'token.revoke', target: `token:${token.id}` });
    },
  );
}

/** A course as its members see it: whether it came from an LMS (it then has a roster), and its assignments' labs. */
async function courseView(store: Store, course: Course, role: CourseRole | undefined) {
  const assignments = await store.assignments.ofCourse(course.id);
  return {
    id: course.id,
    title: course.title,
    ...(role ? { role } : {}),
    lms: course.key.startsWith('lti:'),
    assignments: assignments.map((a) => ({ id: a.id, title: a.title, lab: a.labName })),
  };
}
