import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlatform, startPlatform } from './platform.js';
import { authorize, authRequest, launch, seedCourse, startLaunch, TestTool } from './testTool.js';
import { CLAIM, COURSE_OFFERING, ROLE, SCOPE } from './vocabulary.js';

let running: RunningPlatform;
let tool: TestTool;
let seed: ReturnType<typeof seedCourse>;

beforeAll(async () => {
  running = await startPlatform();
  tool = await TestTool.start();
  seed = seedCourse(running.platform, tool);
});
afterAll(async () => {
  await running?.close();
  await tool?.close();
});

const linkLaunch = (user: string, target: 'iframe' | 'window' = 'iframe') =>
  running.platform.urls.launch(seed.link.id, user, target);

describe('login initiation', () => {
  it('sends the browser to the tool login URL with every third-party login parameter', async () => {
    const login = await startLaunch(linkLaunch('alice'));
    expect(login.action).toBe(tool.loginUrl);
    expect(login.method).toBe('post');
    expect(login.fields).toMatchObject({
      iss: running.platform.urls.issuer,
      login_hint: 'alice',
      target_link_uri: tool.launchUrl,
      client_id: seed.clientId,
      lti_deployment_id: seed.deploymentId,
    });
    expect(login.fields.lti_message_hint).toMatch(/\S{8,}/);
    expect(login.fields.lti_storage_target).toBe('_parent');
    const inWindow = await startLaunch(linkLaunch('alice', 'window'));
    expect(inWindow.fields).not.toHaveProperty('lti_storage_target');
  });

  it('redirects with a GET when the tool asks for it', async () => {
    const other = await TestTool.start();
    try {
      const registered = running.platform.registerTool(other.registration({ loginMethod: 'GET' }));
      const link = running.platform.addResourceLink({
        courseId: seed.course.id,
        clientId: registered.clientId,
        title: 'GET login',
      });
      const res = await fetch(running.platform.urls.launch(link.id, 'alice'), { redirect: 'manual' });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(other.loginUrl);
      expect(location.searchParams.get('client_id')).toBe(registered.clientId);
      expect(location.searchParams.get('login_hint')).toBe('alice');
    } finally {
      await other.close();
    }
  });

  it('refuses to launch for a user who is not enrolled', async () => {
    running.platform.addUser({ id: 'stranger', name: 'Stranger' });
    const res = await fetch(linkLaunch('stranger'));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('not enrolled');
  });
});

describe('authorization endpoint and id_token', () => {
  it('form-posts a signed id_token and the state to the redirect_uri', async () => {
    const { request, answer } = await launch(running.platform, linkLaunch('alice'), tool.launchUrl);
    expect(answer.action).toBe(tool.launchUrl);
    expect(answer.fields.state).toBe(request.get('state'));
    const jwks = createRemoteJWKSet(new URL(running.platform.urls.jwks));
    const { payload, protectedHeader } = await jwtVerify(answer.fields.id_token!, jwks, {
      issuer: running.platform.urls.issuer,
      audience: seed.clientId,
      algorithms: ['RS256'],
    });
    expect(protectedHeader.kid).toBe(running.platform.keys.currentKid);
    expect(payload).toMatchObject({
      sub: 'alice',
      azp: seed.clientId,
      nonce: request.get('nonce'),
      name: 'Alice Learner',
      given_name: 'Alice',
      family_name: 'Learner',
      email: 'alice@example.edu',
      [CLAIM.messageType]: 'LtiResourceLinkRequest',
      [CLAIM.version]: '1.3.0',
      [CLAIM.deploymentId]: seed.deploymentId,
      [CLAIM.targetLinkUri]: tool.launchUrl,
      [CLAIM.resourceLink]: { id: seed.link.id, title: 'Reach the server' },
      [CLAIM.roles]: [ROLE.learner],
      [CLAIM.context]: { id: seed.course.id, label: 'NET101', title: 'Networking 101', type: [COURSE_OFFERING] },
      [CLAIM.custom]: { lab: 'linux-net-101', who: 'alice' },
      [CLAIM.launchPresentation]: {
        document_target: 'iframe',
        return_url: running.platform.urls.coursePage(seed.course.id, 'alice'),
      },
      [CLAIM.ags]: {
        lineitems: running.platform.urls.lineItems(seed.course.id),
        lineitem: running.platform.urls.lineItem(seed.course.id, seed.lineItem.id),
      },
      [CLAIM.nrps]: {
        context_memberships_url: running.platform.urls.memberships(seed.course.id),
        service_versions: ['2.0'],
      },
    });
    expect((payload[CLAIM.ags] as { scope: string[] }).scope).toEqual(
      expect.arrayContaining([SCOPE.score, SCOPE.lineItem]),
    );
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(running.platform.store.idTokens.at(-1)?.token).toBe(answer.fields.id_token);
    expect(running.platform.store.authRequests.at(-1)).toMatchObject({
      outcome: 'id_token',
      params: { prompt: 'none', response_mode: 'form_post', nonce: request.get('nonce') },
    });
  });

  it('sends the window document target for a new-window launch, and Instructor for the teacher', async () => {
    const { answer } = await launch(running.platform, linkLaunch('teacher', 'window'), tool.launchUrl);
    const payload = decodeJwt(answer.fields.id_token!);
    expect(payload[CLAIM.launchPresentation]).toMatchObject({ document_target: 'window' });
    expect(payload[CLAIM.roles]).toEqual([ROLE.instructor]);
  });

  it('leaves out names and email when the tool may not have them', async () => {
    const other = await TestTool.start();
    try {
      const registered = running.platform.registerTool(
        other.registration({ privacy: { name: false, email: false }, scopes: [] }),
      );
      const link = running.platform.addResourceLink({
        courseId: seed.course.id,
        clientId: registered.clientId,
        title: 'Anonymous',
      });
      const { answer } = await launch(
        running.platform,
        running.platform.urls.launch(link.id, 'alice'),
        other.launchUrl,
      );
      const payload = decodeJwt(answer.fields.id_token!);
      expect(payload.sub).toBe('alice');
      for (const claim of ['name', 'given_name', 'family_name', 'email', CLAIM.ags, CLAIM.nrps])
        expect(payload).not.toHaveProperty(claim);
    } finally {
      await other.close();
    }
  });

  it('sends institution roles beside course roles', async () => {
    running.platform.enrol(seed.course.id, 'admin', 'Administrator');
    const { answer } = await launch(running.platform, linkLaunch('admin'), tool.launchUrl);
    expect(decodeJwt(answer.fields.id_token!)[CLAIM.roles]).toEqual([
      ROLE.courseAdministrator,
      ROLE.institutionAdministrator,
    ]);
  });

  it('shows an error page, not a redirect, for an unregistered redirect_uri or an unknown client', async () => {
    const login = await startLaunch(linkLaunch('alice'));
    const wrongRedirect = await authorize(running.platform, authRequest(login.fields, `${tool.launchUrl}/other`));
    expect(wrongRedirect.status).toBe(400);
    expect(wrongRedirect.form).toBeUndefined();
    expect(wrongRedirect.html).toContain('data-error="invalid_request"');
    expect(wrongRedirect.html).toContain('redirect_uri');

    const unknownClient = await authorize(
      running.platform,
      authRequest(login.fields, tool.launchUrl, { client_id: 'nobody' }),
    );
    expect(unknownClient.status).toBe(400);
    expect(unknownClient.html).toContain('data-error="unauthorized_client"');

    const query = await authorize(
      running.platform,
      authRequest(login.fields, tool.launchUrl, { response_mode: 'query' }),
    );
    expect(query.status).toBe(400);
    expect(query.html).toContain('response_mode');
  });

  it.each([
    ['a missing nonce', { nonce: undefined }, 'invalid_request', 'nonce'],
    ['scope other than openid', { scope: 'profile' }, 'invalid_scope', 'openid'],
    ['response_type code', { response_type: 'code' }, 'unsupported_response_type', 'id_token'],
    ['prompt=login', { prompt: 'login' }, 'invalid_request', 'prompt'],
    ['another user in login_hint', { login_hint: 'bob' }, 'access_denied', 'login_hint'],
    ['an unknown lti_message_hint', { lti_message_hint: 'forged' }, 'invalid_request', 'lti_message_hint'],
    ['a missing lti_message_hint', { lti_message_hint: undefined }, 'invalid_request', 'lti_message_hint'],
  ])('form-posts an error for %s', async (_name, overrides, code, word) => {
    const login = await startLaunch(linkLaunch('alice'));
    const request = authRequest(login.fields, tool.launchUrl, overrides);
    const answer = await authorize(running.platform, request);
    expect(answer.form?.action).toBe(tool.launchUrl);
    expect(answer.form?.fields).toMatchObject({ error: code, state: request.get('state') });
    expect(answer.form?.fields.error_description).toContain(word);
    expect(answer.form?.fields).not.toHaveProperty('id_token');
    expect(running.platform.store.authRequests.at(-1)).toMatchObject({ outcome: 'refused', error: code });
  });

  it('refuses a client_id other than the one the launch was started for', async () => {
    const other = await TestTool.start();
    try {
      const registered = running.platform.registerTool(other.registration());
      const login = await startLaunch(linkLaunch('alice'));
      const answer = await authorize(
        running.platform,
        authRequest(login.fields, other.launchUrl, { client_id: registered.clientId }),
      );
      expect(answer.form?.fields.error).toBe('unauthorized_client');
    } finally {
      await other.close();
    }
  });

  it('refuses a launch on a deployment that was removed', async () => {
    const deploymentId = running.platform.addDeployment(seed.clientId);
    const link = running.platform.addResourceLink({
      courseId: seed.course.id,
      clientId: seed.clientId,
      deploymentId,
      title: 'Second deployment',
    });
    const login = await startLaunch(running.platform.urls.launch(link.id, 'alice'));
    expect(login.fields.lti_deployment_id).toBe(deploymentId);
    running.platform.removeDeployment(seed.clientId, deploymentId);
    const answer = await authorize(running.platform, authRequest(login.fields, tool.launchUrl));
    expect(answer.form?.fields.error).toBe('access_denied');
  });

  it('tampers with the next id_token only, as a test asks', async () => {
    const jwks = createRemoteJWKSet(new URL(running.platform.urls.jwks));
    running.platform.tamperNextIdToken({ omit: [CLAIM.deploymentId], set: { [CLAIM.version]: '1.1' } });
    running.platform.tamperNextIdToken({ foreignKey: true });
    running.platform.tamperNextIdToken({ kid: 'unknown-kid' });
    const first = decodeJwt(
      (await launch(running.platform, linkLaunch('alice'), tool.launchUrl)).answer.fields.id_token!,
    );
    expect(first).not.toHaveProperty(CLAIM.deploymentId);
    expect(first[CLAIM.version]).toBe('1.1');
    const foreign = (await launch(running.platform, linkLaunch('alice'), tool.launchUrl)).answer.fields.id_token!;
    await expect(jwtVerify(foreign, jwks)).rejects.toThrow(/signature/);
    const unknownKid = (await launch(running.platform, linkLaunch('alice'), tool.launchUrl)).answer.fields.id_token!;
    await expect(jwtVerify(unknownKid, jwks)).rejects.toThrow(/no applicable key/);
    const normal = (await launch(running.platform, linkLaunch('alice'), tool.launchUrl)).answer.fields.id_token!;
    await expect(jwtVerify(normal, jwks)).resolves.toBeTruthy();
  });
});
