/**
 * @file What the LTI tests share: a small lab (one container; step `first`,
 * 3 points, is checked — done once `touch /tmp/lti-first-step` ran in the
 * box — and step `second`, 7 points, is ticked), the test platform with a
 * course, a teacher and two learners, the tool registered on both sides,
 * and a browser-less launch that follows the same forms and redirects a
 * browser would (platform launch → tool login → platform authorization →
 * tool launch), playing the course page's part in Platform Storage.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type RunningPlatform, startPlatform } from '../lti-platform/platform.js';

export const LAB_NAME = 'lti-lab';
export const LAB_POINTS = 10;
/** Step `first` is done when this file exists in the box. */
export const FIRST_STEP_FILE = '/tmp/lti-first-step';

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
          check: { system: box, run: "test -f ${FIRST_STEP_FILE}" }
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
export async function startWorld(toolUrl: string, options: Parameters<typeof startPlatform>[0] = {}): Promise<World> {
  const running = await startPlatform(options);
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

/** The parameters of the tool's Platform Storage pages (lti/platform-storage.ts), if this is one. */
export function storagePageOf(html: string):
  | {
      target: string;
      origin: string;
      next?: string;
      newWindow?: string;
      put?: Array<{ key: string; value: string }>;
      get?: Array<{ key: string; field: string }>;
      errorField?: string;
    }
  | undefined {
  const json = /<script type="application\/json" id="lti-platform-storage">([\s\S]*?)<\/script>/.exec(html)?.[1];
  return json ? JSON.parse(json) : undefined;
}

export interface LaunchOptions {
  /**
   * What the course page's lti.get_data answers for `key`, given what the
   * tool stored (default: the stored value; undefined: an error answer).
   */
  storage?: (key: string, stored: string | undefined) => string | undefined;
}

export interface Launched {
  /** The tool's answer to the id_token (after the Platform Storage round when the tool asked for one). */
  answer: Step;
  /** The platform's form_post (id_token + state), to replay it. */
  idTokenForm: { action: string; fields: Record<string, string> };
  /** What the tool put into and asked of the platform's frame (empty without Platform Storage). */
  storage: { put: Map<string, string>; asked: string[] };
}

/**
 * Follows a launch from the platform's start URL (resource link or deep
 * linking) to the tool's answer to the id_token. Where the tool uses
 * Platform Storage (iframe launches carry lti_storage_target), this keeps
 * what it puts, answers what it gets, as the course page would.
 */
export async function launch(startUrl: string, opts: LaunchOptions = {}): Promise<Launched> {
  const storage = { put: new Map<string, string>(), asked: [] as string[] };
  const start = await request(startUrl);
  const login = formOf(start.body);
  if (!login)
    throw new Error(
      `the platform did not send the browser to the tool's login: ${start.status} ${start.body.slice(0, 300)}`,
    );
  const toLogin = await postForm(login.action, login.fields);
  const putPage = toLogin.status === 200 ? storagePageOf(toLogin.body) : undefined;
  for (const { key, value } of putPage?.put ?? []) storage.put.set(key, value);
  const authUrl = toLogin.status === 302 ? toLogin.location : putPage?.next;
  if (!authUrl) {
    throw new Error(
      `the tool's login went nowhere: ${toLogin.status} ${errorCode(toLogin.body) ?? toLogin.body.slice(0, 300)}`,
    );
  }
  const auth = await request(authUrl);
  const idTokenForm = formOf(auth.body);
  if (!idTokenForm)
    throw new Error(`the platform's authorization answered no form: ${auth.status} ${auth.body.slice(0, 300)}`);
  let answer = await postForm(idTokenForm.action, idTokenForm.fields);
  const getPage = answer.status === 200 ? storagePageOf(answer.body) : undefined;
  if (getPage?.get) {
    const form = formOf(answer.body);
    if (!form) throw new Error("the tool's Platform Storage page has no form");
    for (const { key, field } of getPage.get) {
      storage.asked.push(key);
      const value = opts.storage ? opts.storage(key, storage.put.get(key)) : storage.put.get(key);
      if (value === undefined) form.fields[getPage.errorField ?? 'lti_storage_error'] = `no value stored for ${key}`;
      else form.fields[field] = value;
    }
    answer = await postForm(form.action, form.fields);
  }
  return { answer, idTokenForm, storage };
}

/** The data-error code of a refusal page. */
export const errorCode = (body: string) => /data-error="([^"]*)"/.exec(body)?.[1];

/**
 * A Chromium profile folder that blocks third-party cookies (the tool inside
 * the platform's page gets none, as Safari and more and more browsers do);
 * pass it to `chromium.launchPersistentContext`, remove it afterwards.
 */
export function thirdPartyCookieBlockingProfile(): string {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lo-chromium-'));
  fs.mkdirSync(path.join(profile, 'Default'));
  fs.writeFileSync(
    path.join(profile, 'Default', 'Preferences'),
    JSON.stringify({ profile: { cookie_controls_mode: 1, block_third_party_cookies: true } }),
  );
  return profile;
}
