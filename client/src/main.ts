/**
 * @file The workspace client: sign-in, the lab list, an instance's
 * workspace, the instructors' progress page and the administrators'
 * capacity page. Plain TypeScript modules, no framework: a few pages and
 * two consoles do not need one, and the bundle stays xterm.js + noVNC.
 */
import './style.css';
import { api } from './api.js';
import { clear, h } from './dom.js';
import { capacityPage } from './pages/capacity.js';
import { instancePage } from './pages/instance.js';
import { labsPage } from './pages/labs.js';
import { progressPage } from './pages/progress.js';
import { signInPage } from './pages/signin.js';
import { link, navigate } from './router.js';
import { currentSession, forgetSession, saveSession } from './session.js';

const app = document.getElementById('app')!;
const header = h('header.top', {});
const content = h('div.content', {});
app.append(header, content);
let leave: () => void = () => {};

function renderHeader() {
  const session = currentSession();
  clear(
    header,
    h('a.brand', { href: '/', onclick: link('/') }, 'Lab Orchestrator'),
    session
      ? h(
          'span.user',
          {},
          session.user.admin
            ? h('a.nav', { href: '/admin/capacity', onclick: link('/admin/capacity') }, 'Capacity')
            : null,
          h('span', { 'data-testid': 'user' }, session.user.name),
          h(
            'button.link',
            {
              type: 'button',
              onclick: async () => {
                await api('DELETE', '/session').catch(() => undefined);
                forgetSession();
                navigate('/signin');
              },
            },
            'Sign out',
          ),
        )
      : null,
  );
}

function route() {
  leave();
  renderHeader();
  const path = location.pathname;
  if (!currentSession() && path !== '/signin') {
    navigate(`/signin?next=${encodeURIComponent(path + location.search)}`);
    return;
  }
  const instance = /^\/instances\/([a-z0-9-]+)$/.exec(path);
  const progress = /^\/courses\/([a-z0-9]+)\/progress$/.exec(path);
  if (path === '/signin') {
    const next = new URLSearchParams(location.search).get('next');
    leave = signInPage(content, next?.startsWith('/') && !next.startsWith('//') ? next : '/');
  } else if (instance) leave = instancePage(content, instance[1]!);
  else if (path === '/admin/capacity') leave = capacityPage(content);
  else if (progress)
    leave = progressPage(content, progress[1]!, new URLSearchParams(location.search).get('assignment') ?? undefined);
  else leave = labsPage(content);
}

/**
 * An LTI launch lands on `/instances/ID?session=CODE`: the one-time code (valid
 * seconds) is traded for this tab's session, with no cookie, and leaves the URL.
 */
async function acceptLaunchCode(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const code = params.get('session');
  if (!code) return;
  params.delete('session');
  const rest = params.toString();
  history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}`);
  const res = await fetch('/lti/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  }).catch(() => undefined);
  if (res?.ok) saveSession(await res.json());
  else forgetSession(); // the sign-in page then asks; a used or expired code never signs anyone in
}

window.addEventListener('popstate', route);
window.addEventListener('route', route);
window.addEventListener('signed-out', () => navigate('/signin'));
acceptLaunchCode().finally(route);
