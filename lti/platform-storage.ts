/**
 * @file Platform Storage (1EdTech "LTI Client Side postMessages", "LTI
 * postMessage Storage" and "OIDC Login with LTI Client Side postMessages"):
 * when the login initiation carries `lti_storage_target`, the tool keeps
 * the OIDC state in the platform's frame instead of a cookie, which the
 * browser drops in a third-party iframe.
 *
 * - Login: instead of a 302 to the platform's authorization endpoint, a
 *   small page asks the platform what it supports (`lti.capabilities`),
 *   puts `state_<state>` (a secret proof; only its hash is kept on the
 *   server) and `nonce_<nonce>` into the platform's frame (`lti.put_data`,
 *   addressed to the origin of the authorization endpoint), then goes on to
 *   that endpoint.
 * - Launch: the form_post of id_token + state is answered by a page that
 *   reads both back (`lti.get_data`) and posts them with the launch to the
 *   tool again; the tool compares them with the login's record. A launch
 *   posted into a browser whose platform frame does not hold them (login
 *   CSRF: a launch started elsewhere) is refused.
 *
 * The pages carry their parameters as JSON (`#lti-platform-storage`) so
 * the script needs no values interpolated and tests without a browser can
 * play the platform's part.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LaunchRefused } from './claims.js';
import { escapeHtml } from './pages.js';

/** Form fields of the second launch POST: what the platform's frame returned. */
export const STORAGE_FIELDS = { state: 'lti_storage_state', nonce: 'lti_storage_nonce', error: 'lti_storage_error' };

export const stateKey = (state: string) => `state_${state}`;
export const nonceKey = (nonce: string) => `nonce_${nonce}`;

/** How long the page waits for each answer of the platform (ms). */
const ANSWER_WAIT_MS = 5000;

/** A frame name (`_parent` or a sibling frame's name) the platform may send. */
export function storageTarget(value: unknown): string | undefined {
  return typeof value === 'string' && /^[\w.:-]{1,100}$/.test(value) ? value : undefined;
}

/** A fresh secret for `state_<state>` and the hash the server keeps of it. */
export function newStorageProof(): { proof: string; hash: string } {
  const proof = randomBytes(24).toString('base64url');
  return { proof, hash: hashProof(proof) };
}

const hashProof = (proof: string) => createHash('sha256').update(proof).digest('hex');

/** Checks what the platform's frame returned against the login's record; throws a refusal. */
export function checkStoredState(body: Record<string, unknown>, expected: { proofHash: string; nonce: string }): void {
  const error = body[STORAGE_FIELDS.error];
  if (typeof error === 'string' && error !== '') {
    throw new LaunchRefused(
      401,
      'platform_storage_unavailable',
      `the platform's frame did not give back this launch's state (${error.slice(0, 200)}); open the activity again, or in a new window`,
    );
  }
  const proof = body[STORAGE_FIELDS.state];
  const nonce = body[STORAGE_FIELDS.nonce];
  if (typeof proof !== 'string' || proof === '') {
    throw new LaunchRefused(
      401,
      'platform_storage_missing',
      'this launch needs the state kept in the platform frame, and none came with it: open the activity from the course',
    );
  }
  const got = Buffer.from(hashProof(proof), 'hex');
  const want = Buffer.from(expected.proofHash, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new LaunchRefused(
      401,
      'state_mismatch',
      'the state kept in the platform frame is not the one of this launch: it was started in another browser or window',
    );
  }
  if (nonce !== expected.nonce) {
    throw new LaunchRefused(
      401,
      'nonce_mismatch',
      'the nonce kept in the platform frame is not the one of this launch',
    );
  }
}

function page(title: string, config: unknown, script: string, form = ''): string {
  // JSON inside <script>: "<" escaped so no "</script>" can end it.
  const json = JSON.stringify(config).replaceAll('<', '\\u003c');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}.error{color:#a00}</style></head>
<body>
${form}<p id="status">${escapeHtml(title)}…</p>
<script type="application/json" id="lti-platform-storage">${json}</script>
<script>
${MESSAGING}
${script}
</script>
</body>
</html>
`;
}

/**
 * The postMessage helpers both pages share: `ask` sends one message and
 * resolves with the answer of the same subject + ".response" and message_id
 * from the expected origin ("*" accepts any: lti.capabilities goes to the
 * embedding window, whose origin the tool does not know).
 */
const MESSAGING = `const config = JSON.parse(document.getElementById('lti-platform-storage').textContent);
const host = window.parent !== window ? window.parent : window.opener;
const messageId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
function ask(frame, message, origin, waitMs) {
  return new Promise((resolve, reject) => {
    if (!frame) return reject(new Error('no platform frame to send ' + message.subject + ' to'));
    const id = messageId();
    const timer = setTimeout(() => { removeEventListener('message', onAnswer); reject(new Error('the platform did not answer ' + message.subject)); }, waitMs);
    function onAnswer(event) {
      const data = event.data;
      if (!data || typeof data !== 'object' || data.message_id !== id || data.subject !== message.subject + '.response') return;
      if (origin !== '*' && event.origin !== origin) return;
      clearTimeout(timer);
      removeEventListener('message', onAnswer);
      if (data.error) reject(new Error(message.subject + ': ' + (data.error.code || 'error') + ' ' + (data.error.message || '')));
      else resolve(data);
    }
    addEventListener('message', onAnswer);
    frame.postMessage({ ...message, message_id: id }, origin);
  });
}
/** The frame to send put_data/get_data to: the one lti.capabilities names, else lti_storage_target. */
async function storageFrame(subject) {
  let name = config.target;
  try {
    const caps = await ask(host, { subject: 'lti.capabilities' }, '*', 1000);
    const found = (caps.supported_messages || []).find((m) => m && m.subject === subject);
    if (!found) throw Object.assign(new Error('the platform does not support ' + subject), { final: true });
    if (typeof found.frame === 'string' && found.frame !== '') name = found.frame;
  } catch (err) {
    if (err.final) throw err; // A platform older than lti.capabilities: use the target it sent.
  }
  if (!host) return undefined;
  if (name === '_parent') return host;
  try { return host.frames[name]; } catch { return undefined; }
}
function fail(code, message) {
  const p = document.getElementById('status');
  p.className = 'error';
  p.id = 'error';
  p.dataset.error = code;
  p.textContent = message;
}
const WAIT = ${ANSWER_WAIT_MS};`;

/**
 * The login's answer: keep state and nonce in the platform's frame, then go
 * to its authorization endpoint. If the platform does not answer, the page
 * offers `newWindowUrl`: the same login without lti_storage_target, in a
 * window of its own (what the Canvas documentation advises).
 */
export function storagePutPage(o: {
  authorizationUrl: string;
  target: string;
  state: string;
  proof: string;
  nonce: string;
  newWindowUrl: string;
}): string {
  const origin = new URL(o.authorizationUrl).origin;
  return page(
    'Lab Orchestrator: starting the launch',
    {
      target: o.target,
      origin,
      next: o.authorizationUrl,
      newWindow: o.newWindowUrl,
      put: [
        { key: stateKey(o.state), value: o.proof },
        { key: nonceKey(o.nonce), value: o.nonce },
      ],
    },
    `(async () => {
  try {
    const frame = await storageFrame('lti.put_data');
    for (const { key, value } of config.put) await ask(frame, { subject: 'lti.put_data', key, value }, config.origin, WAIT);
  } catch (err) {
    fail('platform_storage_unavailable', 'The course page could not keep this launch\\'s state (' + err.message + ').');
    const link = document.createElement('a');
    link.id = 'new-window';
    link.href = config.newWindow;
    link.target = '_blank';
    link.textContent = 'Open the activity in a new window';
    document.body.append(link);
    return;
  }
  location.replace(config.next);
})();`,
  );
}

/**
 * The launch's first answer: read state and nonce back from the platform's
 * frame and post them with the launch (all its fields) to the tool again.
 * A failure is posted too, so the tool answers with its refusal page.
 */
export function storageGetPage(o: {
  action: string;
  fields: Record<string, string>;
  target: string;
  origin: string;
  state: string;
  nonce: string;
}): string {
  const inputs = Object.entries(o.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return page(
    'Lab Orchestrator: checking the launch',
    {
      target: o.target,
      origin: o.origin,
      get: [
        { key: stateKey(o.state), field: STORAGE_FIELDS.state },
        { key: nonceKey(o.nonce), field: STORAGE_FIELDS.nonce },
      ],
      errorField: STORAGE_FIELDS.error,
    },
    `const form = document.getElementById('launch');
const field = (name, value) => {
  const input = document.createElement('input');
  input.type = 'hidden';
  input.name = name;
  input.value = value;
  form.append(input);
};
(async () => {
  try {
    const frame = await storageFrame('lti.get_data');
    for (const { key, field: name } of config.get) {
      const answer = await ask(frame, { subject: 'lti.get_data', key }, config.origin, WAIT);
      field(name, typeof answer.value === 'string' ? answer.value : '');
    }
  } catch (err) {
    field(config.errorField, err.message);
  }
  form.submit();
})();`,
    `<form id="launch" method="post" action="${escapeHtml(o.action)}">\n${inputs}\n</form>\n`,
  );
}
