/** @file The standalone sign-in: a local user's name and password, or an API token. */
import { api, errorMessage } from '../api.js';
import { clear, h } from '../dom.js';
import { navigate } from '../router.js';
import { type SessionUser, saveSession } from '../session.js';

interface SessionAnswer {
  token: string;
  expiresAt: string;
  user: SessionUser;
}

export function signInPage(root: HTMLElement, next = '/'): () => void {
  const error = h('p.error', { role: 'alert' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const token = h('input', { name: 'token', autocomplete: 'off', placeholder: 'lo_…' });
  const byPassword = h('fieldset', {}, h('label', {}, 'User name', username), h('label', {}, 'Password', password));
  const byToken = h('fieldset', { hidden: true }, h('label', {}, 'API token', token));
  const toggle = h('button.link', { type: 'button' }, 'Sign in with an API token instead');
  let withToken = false;
  toggle.addEventListener('click', () => {
    withToken = !withToken;
    byPassword.hidden = withToken;
    byToken.hidden = !withToken;
    username.required = password.required = !withToken;
    token.required = withToken;
    toggle.textContent = withToken
      ? 'Sign in with a user name and password instead'
      : 'Sign in with an API token instead';
  });
  const submit = h('button.primary', { type: 'submit' }, 'Sign in');
  const form = h('form.card.signin', {}, h('h1', {}, 'Sign in'), byPassword, byToken, error, submit, toggle);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      const body = withToken
        ? { token: token.value.trim() }
        : { username: username.value.trim(), password: password.value };
      saveSession(await api<SessionAnswer>('POST', '/session', body));
      navigate(next);
    } catch (err) {
      error.textContent = errorMessage(err);
      submit.disabled = false;
    }
  });
  clear(
    root,
    h(
      'main.narrow',
      {},
      form,
      h('p.hint', {}, 'In a course, open the lab from your LMS instead: you are signed in there.'),
    ),
  );
  return () => {};
}
