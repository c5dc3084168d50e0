/**
 * @file The home page's way to the progress pages: the courses the signed-in
 * user instructs, each with a "Progress" link (the whole course) and one per
 * assignment. Hidden for users who instruct nothing.
 */
import './progress.css';
import { clear, h } from '../dom.js';
import { link } from '../router.js';
import { loadMyCourses } from './progress-data.js';

export function taughtCoursesSection(): HTMLElement {
  const list = h('ul.rows.taught-courses', {});
  const section = h(
    'section',
    { hidden: true, 'data-testid': 'taught-courses' },
    h('h2', {}, 'Courses you teach'),
    list,
  );
  loadMyCourses()
    .then((courses) => {
      const taught = courses.filter((c) => c.role === 'instructor');
      section.hidden = taught.length === 0;
      clear(
        list,
        ...taught.map((c) => {
          const base = `/courses/${encodeURIComponent(c.id)}/progress`;
          return h(
            'li',
            { 'data-course': c.id },
            h('span', {}, c.title),
            h('a.progress-link', { href: base, onclick: link(base) }, 'Progress'),
            ...c.assignments.map((a) => {
              const to = `${base}?assignment=${encodeURIComponent(a.id)}`;
              return h('a', { href: to, onclick: link(to), 'data-assignment': a.id }, a.title);
            }),
          );
        }),
      );
    })
    // Only a way to the progress pages: the lab list works without it.
    .catch(() => undefined);
  return section;
}
