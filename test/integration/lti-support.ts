/**
 * @file What the LTI tests share: a small lab (one container, two ticked
 * steps worth 3 + 7 points), the test platform with a course, a teacher and
 * two learners, the tool registered on both sides, and a browser-less
 * launch that follows the same forms and redirects a browser would
 * (platform launch → tool login → platform authorization → tool launch).
 */
import { type RunningPlatform, startPlatform } from '../lti-platform/platform.js';

export const LAB_NAME = 'lti-lab';
export const LAB_POINTS = 10;

const LAB_YAML = `name: ${LAB_NAME}
title: LTI test lab
limits: { ttl: 2h, idle: 30m, maxInstancesPerUser: 1 }
systems:
  - name: box
    kind: container
    image: lab-orchestrator/shell
    consoles: [terminal]
    resources: { cpu: 250m, memory: 128Mi }
tutorial:
  pages:
    - title: Start
      body: pages/01.md
      steps:
        - id: first
          text: Do the first thing.
          points: 3
        - id: second
          text: Do the second thing.
          points: 7
`;

/** The lab as the labs API takes it. */
export function labUpload() {
  const files: Record<string, string> = {
    'lab.yaml': Buffer.from(LAB_YAML).toString('base64'),
    'pages/01.md': Buffer.from('# Start\n\nTwo steps.\n').toString('base64'),
  };
  return { files, encoding: 'base64' };
}

export interface World {
  running: RunningPlatform;
  clientId: string;
  deploymentId: string;
  courseId: string;
  linkId: string;
  lineItemId: string;
}

/** The platform, with our tool registered at `toolUrl`, a course, users and one graded activity. */
export async function startWorld(toolUrl: string): Promise<World> {
  const running = await startPlatform();
  const { platform } = running;
  const tool = platform.registerTool({
    name: 'Lab Orchestrator',
    loginUrl: `${toolUrl}/lti/login`,
    redirectUris: [`${toolUrl}/lti`],
    targetLinkUri: `${toolUrl}/lti`,
    jwksUrl: `${toolUrl}/lti/keys`,
  });
  const course = platform.addCourse({ title: 'Networking 101', label: 'NET101' });
  platform.addUser({ id: 'teacher', name: 'Tina Teacher', email: 'tina@example.edu' });
  platform.addUser({ id: 'alice', name: 'Alice Learner', email: 'alice@example.edu' });
  platform.addUser({ id: 'bob', name: 'Bob Learner', email: 'bob@example.edu' });
  platform.enrol(course.id, 'teacher', 'Instructor');
  platform.enrol(course.id, 'alice', 'Learner');
  platform.enrol(course.id, 'bob', 'Learner');
  const link = platform.addResourceLink({
    courseId: course.id,
    clientId: tool.clientId,
    title: 'The lab',
    custom: { lab: LAB_NAME },
    lineItem: { scoreMaximum: LAB_POINTS },
  });
  const lineItem = platform.lineItemsOf(link.id)[0];
  if (!lineItem) throw new Error('the platform made no line item');
  return {
    running,
    clientId: tool.clientId,
    deploymentId: tool.deploymentIds[0]!,
    courseId: course.id,
    linkId: link.id,
    lineItemId: lineItem.id,
  };
}

/** The registration the admin API (or CLI) takes, for this world's platform. */
export function registrationOf(w: World) {
  const urls = w.running.platform.urls;
  return {
    issuer: urls.issuer,
    clientId: w.clientId,
    authUrl: urls.authorization,
    tokenUrl: urls.token,
    jwksUrl: urls.jwks,
    deploymentIds: [w.deploymentId],
    name: 'LTI test platform',
  };
}

const decodeEntities = (s: string) =>
  s
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');

/** The first POST form of a page: its action and fields. */
export function formOf(html: string): { action: string; fields: Record<string, string> } | undefined {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
    if (name) fields[decodeEntities(name)] = decodeEntities(value);
  }
  return { action: decodeEntities(form[1]!), fields };
}

export interface Step {
  status: number;
  location?: string;
  body: string;
}

async function request(url: string, init: RequestInit = {}): Promise<Step> {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  const location = res.headers.get('location') ?? undefined;
  return { status: res.status, ...(location ? { location: new URL(location, url).href } : {}), body: await res.text() };
}

export const postForm = (action: string, fields: Record<string, string>) =>
  request(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

/**
 * Follows a launch from the platform's start URL (resource link or deep
 * linking) to the tool's answer to the id_token. Returns that answer and the
 * id_token form (to replay it).
 */
export async function launch(
  startUrl: string,
): Promise<{ answer: Step; idTokenForm: { action: string; fields: Record<string, string> } }> {
  const start = await request(startUrl);
  const login = formOf(start.body);
  if (!login)
    throw new Error(
      `the platform did not send the browser to the tool's login: ${start.status} ${start.body.slice(0, 300)}`,
    );
  const toLogin = await postForm(login.action, login.fields);
  if (toLogin.status !== 302 || !toLogin.location) {
    throw new Error(
      `the tool's login did not redirect: ${toLogin.status} ${errorCode(toLogin.body) ?? toLogin.body.slice(0, 300)}`,
    );
  }
  const auth = await request(toLogin.location);
  const idTokenForm = formOf(auth.body);
  if (!idTokenForm)
    throw new Error(`the platform's authorization answered no form: ${auth.status} ${auth.body.slice(0, 300)}`);
  return { answer: await postForm(idTokenForm.action, idTokenForm.fields), idTokenForm };
}

/** The data-error code of a refusal page. */
export const errorCode = (body: string) => /data-error="([^"]*)"/.exec(body)?.[1];
