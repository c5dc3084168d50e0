/**
 * LTI 1.3 through the test platform over real HTTP: launches that start
 * instances on the real local runtime (Podman), deep linking, grades through
 * the outbox (also while the platform's AGS is down), the roster, and every
 * refusal a tool must make.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeProgress, progressEvent } from '../../server/domain/tutorial/progress.js';
import { LocalRuntime } from '../../server/runtime/local/local-runtime.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { prepareLocalRuntime } from './local-runtime-setup.js';
import {
  errorCode,
  formOf,
  LAB_NAME,
  LAB_POINTS,
  labUpload,
  launch,
  postForm,
  registrationOf,
  startWorld,
  storagePageOf,
  type World,
} from './lti-support.js';

let server: TestServer;
let world: World;

beforeAll(async () => {
  prepareLocalRuntime(['shell']);
  server = await startTestServer({
    runtime: new LocalRuntime({ scope: `lti-${process.pid}` }),
    env: { GRADE_OUTBOX_INTERVAL: '0.2', GRADE_RETRY_MAX: '1', GRADE_LEASE: '10' },
  });
  world = await startWorld(server.url);
  const lab = await server.api(server.adminToken, 'POST', '/api/v1/labs', labUpload());
  expect(lab.status).toBe(201);
  const registered = await server.api(server.adminToken, 'POST', '/lti/platforms', registrationOf(world));
  expect(registered.status).toBe(201);
  expect(registered.body.deploymentIds).toEqual([world.deploymentId]);
});
afterAll(async () => {
  // Provisioning still under way would create containers after a destroy: let it finish first.
  await server?.lifecycle.settleAll();
  for (const id of (await server?.runtime?.list()) ?? []) await server.runtime?.destroy(id);
  await world?.running.close();
  await server?.stop();
});

const urls = () => world.running.platform.urls;
const platform = () => world.running.platform;

async function learnerLaunch(user: string) {
  const { answer } = await launch(urls().launch(world.linkId, user));
  expect(answer.status, answer.body.slice(0, 300)).toBe(303);
  const location = new URL(answer.location!);
  const instanceId = decodeURIComponent(/^\/instances\/([^/]+)$/.exec(location.pathname)![1]!);
  return { instanceId, code: location.searchParams.get('session')!, location };
}

async function exchange(code: string) {
  const res = await fetch(`${server.url}/lti/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on the JSON shape.
  return { status: res.status, body: (await res.json()) as any };
}

describe('launch', () => {
  it('serves the tool keys as a JWKS', async () => {
    const jwks = (await (await fetch(`${server.url}/lti/keys`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
  });

  it('takes a learner from the course to their own running instance, without cookies', async () => {
    const { instanceId, code, location } = await learnerLaunch('alice');
    expect(location.origin).toBe(server.url);

    const instance = await server.store.instances.get(instanceId);
    const user = await server.store.users.get(instance!.ownerId);
    expect(user).toMatchObject({
      key: `lti:${urls().issuer}#alice`,
      name: 'Alice Learner',
      email: 'alice@example.edu',
    });
    expect(instance!.labName).toBe(LAB_NAME);
    const assignment = await server.store.assignments.get(instance!.assignmentId!);
    expect(assignment).toMatchObject({
      key: `lti:${urls().issuer}#${world.linkId}`,
      labName: LAB_NAME,
      lineItemUrl: urls().lineItem(world.courseId, world.lineItemId),
      courseId: instance!.courseId,
    });
    expect(await server.store.users.memberships(user!.id)).toEqual([{ courseId: instance!.courseId, role: 'learner' }]);

    // The workspace page trades the one-time code for a browser session token, once.
    const session = await exchange(code);
    expect(session.status).toBe(201);
    expect(session.body.instanceId).toBe(instanceId);
    const seen = await server.api(session.body.token, 'GET', `/api/v1/instances/${instanceId}`);
    expect(seen.status).toBe(200);
    const again = await exchange(code);
    expect(again.status).toBe(401);
    expect(again.body.error.message).toMatch(/unknown, expired or already used/);

    await waitFor('the instance to run', async () =>
      (await server.store.instances.get(instanceId))?.state === 'running' ? true : undefined,
    );
  });

  it('gives a second learner their own instance, and the first the same one again', async () => {
    const alice = await learnerLaunch('alice');
    const bob = await learnerLaunch('bob');
    expect(bob.instanceId).not.toBe(alice.instanceId);
    const again = await learnerLaunch('alice');
    expect(again.instanceId).toBe(alice.instanceId);
    const bobs = await server.store.instances.get(bob.instanceId);
    const alices = await server.store.instances.get(alice.instanceId);
    expect(bobs!.ownerId).not.toBe(alices!.ownerId);
  });

  it('opens in a new window the same way (no cookie from the iframe needed)', async () => {
    const { answer } = await launch(urls().launch(world.linkId, 'alice', 'window'));
    expect(answer.status).toBe(303);
    const code = new URL(answer.location!).searchParams.get('session')!;
    const session = await exchange(code);
    // And from a signed-in page: a fresh code for a new window.
    const fresh = await server.api(session.body.token, 'POST', '/lti/launch-codes', {
      instanceId: session.body.instanceId,
    });
    expect(fresh.status).toBe(201);
    expect((await exchange(new URL(fresh.body.url).searchParams.get('session')!)).status).toBe(201);
  });
});

describe('Platform Storage (lti_storage_target): the state kept in the platform frame, no cookie', () => {
  it('puts state and nonce into the course page, reads them back, and launches', async () => {
    const { answer, storage } = await launch(urls().launch(world.linkId, 'alice'));
    expect(answer.status, answer.body.slice(0, 300)).toBe(303);
    const state = platform().store.authRequests.at(-1)!.params.state;
    const nonce = platform().store.authRequests.at(-1)!.params.nonce;
    // The state's value in the frame is a secret of the login, not the state itself (which travels in URLs).
    expect([...storage.put.keys()]).toEqual([`state_${state}`, `nonce_${nonce}`]);
    expect(storage.put.get(`state_${state}`)).not.toBe(state);
    expect(storage.put.get(`nonce_${nonce}`)).toBe(nonce);
    expect(storage.asked).toEqual([`state_${state}`, `nonce_${nonce}`]);
  });

  it('addresses the platform at the origin of its authorization endpoint, in the frame it named', async () => {
    const start = await fetch(urls().launch(world.linkId, 'alice'));
    const login = formOf(await start.text())!;
    expect(login.fields.lti_storage_target).toBe('_parent');
    const toLogin = await postForm(login.action, login.fields);
    expect(toLogin.status).toBe(200);
    const put = storagePageOf(toLogin.body)!;
    expect(put).toMatchObject({ target: '_parent', origin: new URL(urls().authorization).origin });
    expect(put.next!.startsWith(`${urls().authorization}?`)).toBe(true);
    // If the course page does not answer: the same login in a window of its own, without the storage target.
    const newWindow = new URL(put.newWindow!);
    expect(newWindow.searchParams.has('lti_storage_target')).toBe(false);
    expect(newWindow.searchParams.get('lti_message_hint')).toBe(login.fields.lti_message_hint);
    const alone = await fetch(newWindow, { redirect: 'manual' });
    expect(alone.status, `${newWindow.href} ${await alone.text()}`).toBe(302);
    expect(alone.headers.get('location')!.startsWith(`${urls().authorization}?`)).toBe(true);
  });

  it('refuses a launch whose state in the frame is another one (started in another browser)', async () => {
    const { answer } = await launch(urls().launch(world.linkId, 'alice'), {
      storage: (key, stored) => (key.startsWith('state_') ? 'the-proof-of-another-login' : stored),
    });
    expect(answer.status).toBe(401);
    expect(errorCode(answer.body)).toBe('state_mismatch');
    expect(answer.body).toMatch(/started in another browser or window/);
  });

  it('refuses a launch whose nonce in the frame is another one', async () => {
    const { answer } = await launch(urls().launch(world.linkId, 'alice'), {
      storage: (key, stored) => (key.startsWith('nonce_') ? 'another-nonce' : stored),
    });
    expect(answer.status).toBe(401);
    expect(errorCode(answer.body)).toBe('nonce_mismatch');
  });

  it('refuses a launch when the frame holds nothing', async () => {
    const { answer } = await launch(urls().launch(world.linkId, 'alice'), { storage: () => undefined });
    expect(answer.status).toBe(401);
    expect(errorCode(answer.body)).toBe('platform_storage_unavailable');
  });

  it('refuses a replay of a launch with its copies from the frame (the state was used)', async () => {
    const { answer, idTokenForm, storage } = await launch(urls().launch(world.linkId, 'alice'));
    expect(answer.status).toBe(303);
    const [proof, nonce] = [...storage.put.values()];
    const replay = await postForm(idTokenForm.action, {
      ...idTokenForm.fields,
      lti_storage_state: proof!,
      lti_storage_nonce: nonce!,
    });
    expect(replay.status).toBe(401);
    expect(errorCode(replay.body)).toBe('unknown_state');
  });
});

describe('refusals', () => {
  async function refusedWith(tamper: Parameters<ReturnType<typeof platform>['tamperNextIdToken']>[0]) {
    platform().tamperNextIdToken(tamper);
    const { answer } = await launch(urls().launch(world.linkId, 'alice'));
    return { status: answer.status, code: errorCode(answer.body), body: answer.body };
  }

  it('refuses a bad signature', async () => {
    expect(await refusedWith({ foreignKey: true })).toMatchObject({ status: 401, code: 'bad_signature' });
  });
  it('refuses an unknown key id', async () => {
    expect(await refusedWith({ kid: 'no-such-kid' })).toMatchObject({ status: 401, code: 'unknown_key' });
  });
  it('refuses a wrong audience', async () => {
    expect(await refusedWith({ set: { aud: 'someone-else' } })).toMatchObject({
      status: 401,
      code: 'unknown_platform',
    });
  });
  it('refuses an extra audience without azp', async () => {
    const r = await refusedWith({ set: { aud: [world.clientId, 'someone-else'], azp: 'someone-else' } });
    expect(r.status).toBe(401);
    expect(r.code).toMatch(/azp_mismatch/);
  });
  it('refuses a wrong issuer', async () => {
    expect(await refusedWith({ set: { iss: 'https://evil.example' } })).toMatchObject({
      status: 401,
      code: 'unknown_platform',
    });
  });
  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await refusedWith({ set: { exp: now - 60, iat: now - 120 } })).toMatchObject({
      status: 401,
      code: 'token_expired',
    });
  });
  it('refuses a token issued too long ago', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await refusedWith({ set: { iat: now - 3600 } })).toMatchObject({ status: 401, code: 'token_too_old' });
  });
  it('refuses a replayed nonce', async () => {
    const first = await launch(urls().launch(world.linkId, 'alice'));
    expect(first.answer.status).toBe(303);
    const payload = JSON.parse(Buffer.from(first.idTokenForm.fields.id_token!.split('.')[1]!, 'base64url').toString());
    expect(await refusedWith({ set: { nonce: payload.nonce } })).toMatchObject({ status: 401, code: 'nonce_replayed' });
  });
  it('refuses a replayed launch (the same id_token and state again)', async () => {
    const first = await launch(urls().launch(world.linkId, 'alice'));
    expect(first.answer.status).toBe(303);
    const replay = await postForm(first.idTokenForm.action, first.idTokenForm.fields);
    expect(replay.status).toBe(401);
    expect(errorCode(replay.body)).toBe('unknown_state');
  });
  it('refuses an unknown deployment_id', async () => {
    const r = await refusedWith({
      set: { 'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'not-registered' },
    });
    expect(r).toMatchObject({ status: 403, code: 'unknown_deployment' });
    expect(r.body).toMatch(/deployment_id &quot;not-registered&quot; is not registered/);
  });
  it('refuses a target_link_uri other than the one the login was for', async () => {
    const r = await refusedWith({
      set: { 'https://purl.imsglobal.org/spec/lti/claim/target_link_uri': `${server.url}/lti/elsewhere` },
    });
    expect(r).toMatchObject({ status: 401, code: 'target_link_uri_mismatch' });
  });
  it('refuses a wrong LTI version and a missing message type', async () => {
    expect(await refusedWith({ set: { 'https://purl.imsglobal.org/spec/lti/claim/version': '1.1' } })).toMatchObject({
      status: 401,
      code: 'bad_version',
    });
    expect(await refusedWith({ omit: ['https://purl.imsglobal.org/spec/lti/claim/message_type'] })).toMatchObject({
      status: 401,
      code: 'missing_claim',
    });
  });
  it('refuses a launch whose state it never issued', async () => {
    const r = await postForm(`${server.url}/lti`, { id_token: 'x.y.z', state: 'made-up' });
    expect(r.status).toBe(401);
    expect(errorCode(r.body)).toBe('unknown_state');
  });
  it('forgets logins that took too long (the sweep, no TTL index on FerretDB)', async () => {
    const start = await fetch(urls().launch(world.linkId, 'alice', 'window'));
    const login = formOf(await start.text())!;
    const toLogin = await postForm(login.action, login.fields);
    expect(toLogin.status).toBe(302);
    await server.lti!.sweep(); // ltijs's records, by their TTL ages: nothing of this launch yet
    expect(await server.store.platforms.sweep(0)).toBeGreaterThan(0); // every login state is now too old
    const auth = await fetch(toLogin.location!);
    const idTokenForm = formOf(await auth.text())!;
    const answer = await postForm(idTokenForm.action, idTokenForm.fields);
    expect(answer.status).toBe(401);
    expect(errorCode(answer.body)).toBe('unknown_state');
  });
  it('refuses deep linking to a learner', async () => {
    platform().tamperNextIdToken({
      set: {
        'https://purl.imsglobal.org/spec/lti/claim/roles': [
          'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner',
        ],
      },
    });
    const { answer } = await launch(urls().deepLinkingStart(world.courseId, 'teacher', world.clientId));
    expect(answer.status).toBe(403);
    expect(errorCode(answer.body)).toBe('instructors_only');
  });
  it('refuses the roster to a learner', async () => {
    const { code } = await learnerLaunch('bob');
    const session = await exchange(code);
    const course = (await server.store.instances.get(session.body.instanceId))!.courseId!;
    const roster = await server.api(session.body.token, 'GET', `/lti/courses/${course}/roster`);
    expect(roster.status).toBe(403);
    expect(roster.body.error.message).toMatch(/only the course instructors/);
  });
});

describe('deep linking', () => {
  it('lets an instructor pick a lab: a resource link bound to it, with a line item of its points', async () => {
    const { answer } = await launch(urls().deepLinkingStart(world.courseId, 'teacher', world.clientId));
    expect(answer.status, answer.body.slice(0, 300)).toBe(200);
    const picker = [...answer.body.matchAll(/<li data-lab="([^"]+)">([\s\S]*?)<\/li>/g)];
    const entry = picker.find((m) => m[1] === LAB_NAME);
    expect(entry?.[2]).toContain(`${LAB_POINTS} point(s)`);
    const choice = formOf(entry![2]!)!;
    const signed = await postForm(choice.action, choice.fields);
    expect(signed.status, signed.body.slice(0, 300)).toBe(200);
    const back = formOf(signed.body)!;
    expect(back.action).toContain(urls().deepLinkingReturn);
    const returned = await postForm(back.action, back.fields);
    expect(returned.status, returned.body.slice(0, 300)).toBeLessThan(400);

    const dl = platform().store.deepLinkingReturns.at(-1)!;
    expect(dl.errormsg).toBeUndefined();
    expect(dl.createdLinks).toHaveLength(1);
    const link = dl.createdLinks[0]!;
    expect(link.custom).toEqual({ lab: LAB_NAME });
    expect(dl.createdLineItems[0]).toMatchObject({ scoreMaximum: LAB_POINTS, resourceLinkId: link.id });

    // The first launch of the new activity binds it as an assignment of that lab, with its line item.
    const launched = await launch(urls().launch(link.id, 'bob'));
    expect(launched.answer.status).toBe(303);
    const assignment = await server.store.assignments.byKey(`lti:${urls().issuer}#${link.id}`);
    expect(assignment).toMatchObject({
      labName: LAB_NAME,
      lineItemUrl: urls().lineItem(world.courseId, dl.createdLineItems[0]!.id),
    });
  });
});

describe('grades', () => {
  async function alicesInstance() {
    const { instanceId } = await learnerLaunch('alice');
    return (await server.store.instances.get(instanceId))!;
  }
  const outline = {
    pages: [
      {
        title: 'Start',
        steps: [
          { id: 'first', points: 3 },
          { id: 'second', points: 7 },
        ],
      },
    ],
  };
  const step = (done: boolean) => ({ done, at: new Date().toISOString(), by: 'tick' as const, attempts: 0 });
  async function progress(instance: Awaited<ReturnType<typeof alicesInstance>>, first: boolean, second: boolean) {
    const p = computeProgress(outline, { first: step(first), second: step(second) });
    await server.grades.listener.progressChanged(
      progressEvent(
        {
          instanceId: instance.id,
          userId: instance.ownerId,
          labName: instance.labName,
          labVersion: instance.labVersion,
          assignmentId: instance.assignmentId!,
        },
        p,
        new Date().toISOString(),
      ),
    );
  }
  const gradeOf = () => platform().grade(world.lineItemId, 'alice');

  it('posts the score of a progress change to the gradebook', async () => {
    const instance = await alicesInstance();
    await progress(instance, true, false);
    const entry = await waitFor(
      'alice to have 3 points',
      async () => (gradeOf()?.grade === 3 ? gradeOf() : undefined),
      20,
    );
    expect(entry!.score).toMatchObject({
      userId: 'alice',
      scoreGiven: 3,
      scoreMaximum: 10,
      activityProgress: 'InProgress',
      gradingProgress: 'FullyGraded',
    });
    const attempt = platform().store.scoreAttempts.at(-1)!;
    expect(attempt.status).toBe(204);
  });

  it('keeps scores while the platform fails and delivers the latest once it recovers', async () => {
    const instance = await alicesInstance();
    const before = platform().store.scoreAttempts.length;
    platform().failServices({ status: 503, services: ['ags', 'token'] });
    await progress(instance, true, true);
    await waitFor(
      'the outbox to try and fail',
      async () => (platform().refusedByOutage().ags + platform().refusedByOutage().token > 1 ? true : undefined),
      20,
    );
    const row = await server.store.grades.get(instance.assignmentId!, instance.ownerId);
    expect(row).toMatchObject({ pending: true, score: { scoreGiven: 10 } });
    expect(row!.lastError).toMatch(/503/);
    expect(gradeOf()?.grade).toBe(3);

    platform().recoverServices();
    await waitFor('alice to have 10 points', async () => (gradeOf()?.grade === 10 ? true : undefined), 20);
    const accepted = platform()
      .store.scoreAttempts.slice(before)
      .filter((a) => a.status < 300);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.body).toMatchObject({ scoreGiven: 10, activityProgress: 'Completed' });
    await waitFor('the row to be done', async () =>
      (await server.store.grades.get(instance.assignmentId!, instance.ownerId))?.pending === false ? true : undefined,
    );
  });

  it('sends scores less than a second apart with increasing whole-second timestamps (no 409)', async () => {
    const instance = await alicesInstance();
    const before = platform().store.scoreAttempts.length;
    await progress(instance, false, true);
    await waitFor('7 points', async () => (gradeOf()?.grade === 7 ? true : undefined), 20);
    await progress(instance, true, true);
    await waitFor('10 points', async () => (gradeOf()?.grade === 10 ? true : undefined), 20);
    const attempts = platform().store.scoreAttempts.slice(before);
    expect(attempts.every((a) => a.status === 204)).toBe(true);
    const stamps = attempts.map((a) => Date.parse((a.body as { timestamp: string }).timestamp));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 1]!).toBeGreaterThanOrEqual(1000);
  });
});

describe('grades from the tutorial', () => {
  it('ticking a step in the workspace posts the new score to the gradebook', async () => {
    const { instanceId, code } = await learnerLaunch('bob');
    const session = await exchange(code);
    await waitFor('the instance to run', async () =>
      (await server.store.instances.get(instanceId))?.state === 'running' ? true : undefined,
    );
    const ticked = await server.api(
      session.body.token,
      'POST',
      `/api/v1/instances/${instanceId}/tutorial/steps/second/tick`,
      { done: true },
    );
    expect(ticked.status, JSON.stringify(ticked.body)).toBe(200);
    const entry = await waitFor(
      'bob to have 7 points',
      async () =>
        platform().grade(world.lineItemId, 'bob')?.grade === 7 ? platform().grade(world.lineItemId, 'bob') : undefined,
      20,
    );
    expect(entry!.score).toMatchObject({
      userId: 'bob',
      scoreGiven: 7,
      scoreMaximum: 10,
      activityProgress: 'InProgress',
    });
  });
});

describe('dynamic registration', () => {
  it('registers with the platform, waits for an admin, then launches', async () => {
    const { url } = platform().startRegistration(`${server.url}/lti/register`);
    const res = await fetch(url);
    const page = await res.text();
    expect(res.status, page.slice(0, 300)).toBe(200);
    expect(page).toContain('org.imsglobal.lti.close');
    const clientId = decodeURIComponent(/data-client-id="([^"]+)"/.exec(page)![1]!);
    const tool = platform().store.tools.get(clientId)!;
    expect(tool).toMatchObject({ loginUrl: `${server.url}/lti/login`, jwksUrl: `${server.url}/lti/keys` });

    const listed = await server.api(server.adminToken, 'GET', '/lti/platforms');
    const ours = listed.body.platforms.find((p: { clientId: string }) => p.clientId === clientId);
    expect(ours).toMatchObject({ issuer: urls().issuer, active: false, deploymentIds: tool.deploymentIds });

    const link = platform().addResourceLink({
      courseId: world.courseId,
      clientId,
      title: 'Registered lab',
      custom: { lab: LAB_NAME },
      lineItem: { scoreMaximum: LAB_POINTS },
    });
    // Refused at the login already: 401 with the reason.
    await expect(launch(urls().launch(link.id, 'alice'))).rejects.toThrow(/went nowhere: 401 platform_inactive/);

    const activated = await server.api(server.adminToken, 'PATCH', '/lti/platforms', {
      issuer: urls().issuer,
      clientId,
      active: true,
    });
    expect(activated.status).toBe(200);
    const launched = await launch(urls().launch(link.id, 'alice'));
    expect(launched.answer.status, launched.answer.body.slice(0, 300)).toBe(303);
    // Its own key: the JWKS now serves one key per registration.
    const jwks = (await (await fetch(`${server.url}/lti/keys`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toContain(ours.kid);
    expect(jwks.keys).toHaveLength(2);
  });

  it('refuses to register without a platform configuration, naming the parameter', async () => {
    const res = await fetch(`${server.url}/lti/register`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/openid_configuration/);
  });

  it('refuses platform registration to non-admins and names bad fields', async () => {
    const user = await server.user('someone');
    expect((await server.api(user.token, 'POST', '/lti/platforms', registrationOf(world))).status).toBe(403);
    const bad = await server.api(server.adminToken, 'POST', '/lti/platforms', {
      ...registrationOf(world),
      tokenUrl: 'not a url',
      deploymentIds: [],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.problems.map((p: { path: string }) => p.path).sort()).toEqual(['deploymentIds', 'tokenUrl']);
  });
});

describe('roster', () => {
  it('gives the instructor the course members with their instance and score', async () => {
    // An instructor's launch lands on the assignment's progress page, without starting an instance.
    const { answer } = await launch(urls().launch(world.linkId, 'teacher'));
    expect(answer.status).toBe(303);
    const location = new URL(answer.location!);
    const course = decodeURIComponent(/^\/courses\/([^/]+)\/progress$/.exec(location.pathname)![1]!);
    expect((await server.store.assignments.get(location.searchParams.get('assignment')!))?.courseId).toBe(course);
    const session = await exchange(location.searchParams.get('session')!);
    expect(session.status).toBe(201);
    expect(session.body.instanceId).toBeUndefined();
    const teacher = (await server.store.users.byKey(`lti:${urls().issuer}#teacher`))!;
    expect(await server.store.instances.list({ ownerId: teacher.id })).toEqual([]);
    const roster = await server.api(session.body.token, 'GET', `/lti/courses/${course}/roster`);
    expect(roster.status).toBe(200);
    const byId = Object.fromEntries(roster.body.members.map((m: { userId: string }) => [m.userId, m]));
    expect(byId.teacher).toMatchObject({ name: 'Tina Teacher', role: 'instructor' });
    expect(byId.alice).toMatchObject({ name: 'Alice Learner', role: 'learner', instance: { labName: LAB_NAME } });
    expect(byId.alice.scores).toEqual([expect.objectContaining({ scoreGiven: 10, scoreMaximum: 10, delivered: true })]);
    expect(byId.bob.role).toBe('learner');
  });
});
