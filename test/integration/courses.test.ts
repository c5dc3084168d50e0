/**
 * The course endpoints the progress pages read, over real HTTP against a
 * real server (no runtime needed): a member's own courses with their role
 * and assignments, and one course for its instructors and admins only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let courseId = '';
let teacher: { id: string; token: string };
let learner: { id: string; token: string };
let stranger: { id: string; token: string };

beforeAll(async () => {
  server = await startTestServer({ runtime: null });
  const course = await server.api(server.adminToken, 'POST', '/api/v1/courses', { title: 'Networks 101' });
  courseId = course.body.id;
  teacher = await server.user('teacher');
  learner = await server.user('learner');
  stranger = await server.user('stranger');
  await server.store.users.setMembership(courseId, teacher.id, 'instructor');
  await server.store.users.setMembership(courseId, learner.id, 'learner');
  await server.store.assignments.upsert('lti:https://lms.example#link-1', {
    courseId,
    title: 'First lab',
    labName: 'net-basics',
  });
});
afterAll(async () => server?.stop());

describe('GET /courses?mine=1', () => {
  it('lists the caller’s courses with their role, whether from an LMS, and the assignments', async () => {
    const mine = await server.api(teacher.token, 'GET', '/api/v1/courses?mine=1');
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual([
      {
        id: courseId,
        title: 'Networks 101',
        role: 'instructor',
        lms: false,
        assignments: [{ id: expect.any(String), title: 'First lab', lab: 'net-basics' }],
      },
    ]);
    expect((await server.api(learner.token, 'GET', '/api/v1/courses?mine=1')).body[0].role).toBe('learner');
    expect((await server.api(stranger.token, 'GET', '/api/v1/courses?mine=1')).body).toEqual([]);
  });

  it('keeps the list of all courses to admins, and names a bad parameter', async () => {
    expect((await server.api(teacher.token, 'GET', '/api/v1/courses')).status).toBe(403);
    expect((await server.api(server.adminToken, 'GET', '/api/v1/courses')).status).toBe(200);
    const bad = await server.api(teacher.token, 'GET', '/api/v1/courses?mine=yes');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain('mine');
  });
});

describe('GET /courses/:id', () => {
  it('shows the course to its instructors and admins, not to its learners or others', async () => {
    const seen = await server.api(teacher.token, 'GET', `/api/v1/courses/${courseId}`);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id: courseId, title: 'Networks 101', role: 'instructor', lms: false });
    const admin = await server.api(server.adminToken, 'GET', `/api/v1/courses/${courseId}`);
    expect(admin.status).toBe(200);
    expect(admin.body.role).toBeUndefined();
    for (const who of [learner, stranger]) {
      const refused = await server.api(who.token, 'GET', `/api/v1/courses/${courseId}`);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toMatch(/only the instructors of this course/);
    }
    expect((await server.api(teacher.token, 'GET', '/api/v1/courses/0123456789abcdef01234567')).status).toBe(404);
  });
});
