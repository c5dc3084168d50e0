/**
 * @file The platform's pages for people (and Chromium in the tests): an
 * index, a course page per user that launches the course's activities in an
 * iframe (or a new window) and, for instructors, adds activities by deep
 * linking, and a gradebook. The viewer is chosen by `?user=`: this is a test
 * platform, there is no sign-in.
 */
import { type Request, Router } from 'express';
import type { PlatformContext } from './context.js';
import { browserError } from './errors.js';
import { escapeHtml as h, page } from './html.js';
import { canEdit } from './launch.js';
import type { Course } from './model.js';
import { platformStorageEmbed } from './platformStorage.js';

export function pagesRouter(ctx: PlatformContext): Router {
  const router = Router();

  router.get('/', (_req, res) => {
    const courses = [...ctx.store.courses.values()]
      .map((c) => {
        const members = ctx.store
          .membersOf(c.id)
          .map((m) => {
            const user = ctx.store.users.get(m.userId);
            return `<li><a href="${h(ctx.urls.coursePage(c.id, m.userId))}">${h(user?.name ?? m.userId)}</a> (${h(m.roles.map(shortRole).join(', '))})</li>`;
          })
          .join('\n');
        return `<li data-course-id="${h(c.id)}">${h(c.title)} — <a href="${h(ctx.urls.gradebookPage(c.id))}">gradebook</a><ul>${members}</ul></li>`;
      })
      .join('\n');
    const tools = [...ctx.store.tools.values()]
      .map(
        (t) =>
          `<li data-client-id="${h(t.clientId)}">${h(t.name)} — client_id <code>${h(t.clientId)}</code>, deployments <code>${h(t.deploymentIds.join(', '))}</code> (${t.status})</li>`,
      )
      .join('\n');
    res.type('html').send(
      page(
        ctx.options.name,
        `<h1>${h(ctx.options.name)}</h1>
<h2>Courses</h2><ul id="courses">${courses}</ul>
<h2>Tools</h2><ul id="tools">${tools}</ul>
<form method="get" action="/registration/start"><label>Register a tool by its dynamic registration URL <input name="url" type="url" required></label> <button>Register</button></form>
<h2>Endpoints</h2>
<ul>
<li>Issuer: <code>${h(ctx.urls.issuer)}</code></li>
<li>Authorization: <code>${h(ctx.urls.authorization)}</code></li>
<li>Token: <code>${h(ctx.urls.token)}</code></li>
<li>JWKS: <code>${h(ctx.urls.jwks)}</code></li>
<li>OpenID configuration: <code>${h(ctx.urls.openidConfiguration)}</code></li>
</ul>`,
      ),
    );
  });

  router.get('/courses/:courseId', (req, res) => {
    const course = courseOf(ctx, req);
    const userId = typeof req.query.user === 'string' ? req.query.user : '';
    const user = ctx.store.users.get(userId);
    const membership = ctx.store.membership(course.id, userId);
    if (!user || !membership)
      throw browserError(
        403,
        'access_denied',
        `user ${userId || '(missing ?user=)'} is not enrolled in course ${course.id}`,
      );
    const links = [...ctx.store.resourceLinks.values()]
      .filter((l) => l.courseId === course.id)
      .map(
        (l) => `<li class="activity" data-link-id="${h(l.id)}">
<a class="launch" href="${h(ctx.urls.launch(l.id, user.id, 'iframe'))}" target="tool-frame">${h(l.title)}</a>
· <a class="launch-window" href="${h(ctx.urls.launch(l.id, user.id, 'window'))}" target="_blank">open in a new window</a>
</li>`,
      )
      .join('\n');
    const editing = canEdit(ctx, course, user)
      ? `<section id="add-activity"><h2>Add an activity</h2><ul>${[...ctx.store.tools.values()]
          .filter((t) => t.status === 'active')
          .map(
            (t) =>
              `<li><a class="deep-link" data-client-id="${h(t.clientId)}" href="${h(ctx.urls.deepLinkingStart(course.id, user.id, t.clientId))}" target="tool-frame">${h(t.name)}</a></li>`,
          )
          .join('\n')}</ul>
<p><a href="${h(ctx.urls.gradebookPage(course.id))}">Gradebook</a></p></section>`
      : '';
    res.type('html').send(
      page(
        course.title,
        `<h1>${h(course.title)}</h1>
<p>Signed in as <span id="user" data-user-id="${h(user.id)}">${h(user.name ?? user.id)}</span> (${h(membership.roles.map(shortRole).join(', '))}) · <a href="/">all courses</a></p>
<h2>Activities</h2>
<ul id="activities">${links || '<li>No activities yet.</li>'}</ul>
${editing}
<iframe name="tool-frame" id="tool-frame" title="Tool" allow="clipboard-read; clipboard-write; fullscreen"></iframe>
${platformStorageEmbed(ctx, user.id)}`,
      ),
    );
  });

  router.get('/courses/:courseId/gradebook', (req, res) => {
    const course = courseOf(ctx, req);
    const items = [...ctx.store.lineItems.values()].filter((l) => l.courseId === course.id);
    const learners = ctx.store.membersOf(course.id);
    const head = items
      .map((i) => `<th data-line-item-id="${h(i.id)}">${h(i.label)} (/${i.scoreMaximum})</th>`)
      .join('');
    const rows = learners
      .map((m) => {
        const cells = items
          .map((i) => {
            const entry = ctx.store.gradebookEntry(i.id, m.userId);
            const text = entry
              ? `${entry.grade ?? '–'} / ${i.scoreMaximum} (${entry.score.activityProgress}, ${entry.score.gradingProgress})`
              : '';
            return `<td data-line-item-id="${h(i.id)}" data-grade="${entry?.grade ?? ''}">${h(text)}</td>`;
          })
          .join('');
        return `<tr data-user-id="${h(m.userId)}"><th>${h(ctx.store.users.get(m.userId)?.name ?? m.userId)}</th>${cells}</tr>`;
      })
      .join('\n');
    res
      .type('html')
      .send(
        page(
          `${course.title}: gradebook`,
          `<h1>${h(course.title)}: gradebook</h1>\n<table id="gradebook"><tr><th>User</th>${head}</tr>\n${rows}</table>`,
        ),
      );
  });

  return router;
}

function courseOf(ctx: PlatformContext, req: Request): Course {
  const course = ctx.store.courses.get(String(req.params.courseId));
  if (!course) throw browserError(404, 'not_found', `course ${String(req.params.courseId)} not found`);
  return course;
}

function shortRole(uri: string): string {
  return uri.slice(uri.lastIndexOf('#') + 1);
}
