import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlatform, startPlatform } from './platform.js';
import { launch, TestTool } from './testTool.js';
import { CLAIM, SCOPE } from './vocabulary.js';

let running: RunningPlatform;
let tool: TestTool;

beforeAll(async () => {
  running = await startPlatform();
  tool = await TestTool.start();
  running.platform.addCourse({ id: 'c1', title: 'Course' });
  running.platform.addUser({ id: 'alice', name: 'Alice', email: 'alice@example.edu' });
  running.platform.enrol('c1', 'alice', 'Learner');
});
afterAll(async () => {
  await running?.close();
  await tool?.close();
});

const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';

function registration(change: Record<string, unknown> = {}) {
  const domain = new URL(tool.url).host;
  return {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: tool.loginUrl,
    redirect_uris: [tool.launchUrl, tool.deepLinkingUrl],
    client_name: 'Lab Orchestrator',
    jwks_uri: tool.jwksUrl,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: [SCOPE.score, SCOPE.lineItem, SCOPE.membershipReadOnly, 'https://example.com/unknown'].join(' '),
    [TOOL_CONFIGURATION]: {
      domain,
      target_link_uri: tool.launchUrl,
      custom_parameters: { source: 'dynamic' },
      claims: ['iss', 'sub', 'name'],
      messages: [{ type: 'LtiDeepLinkingRequest', target_link_uri: tool.deepLinkingUrl, label: 'Pick a lab' }],
    },
    ...change,
  };
}

const post = (token: string | undefined, body: unknown) =>
  fetch(running.platform.urls.registration, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

describe('dynamic registration', () => {
  it('opens the tool registration URL with openid_configuration and registration_token', () => {
    const { url, token } = running.platform.startRegistration(`${tool.url}/register?x=1`);
    const opened = new URL(url);
    expect(opened.pathname).toBe('/register');
    expect(opened.searchParams.get('x')).toBe('1');
    expect(opened.searchParams.get('openid_configuration')).toBe(running.platform.urls.openidConfiguration);
    expect(opened.searchParams.get('registration_token')).toBe(token);
  });

  it('serves the openid configuration only with the registration token as Bearer (like Canvas)', async () => {
    const { token } = running.platform.startRegistration(`${tool.url}/register`);
    expect((await fetch(running.platform.urls.openidConfiguration)).status).toBe(401);
    const res = await fetch(running.platform.urls.openidConfiguration, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      issuer: running.platform.urls.issuer,
      authorization_endpoint: running.platform.urls.authorization,
      token_endpoint: running.platform.urls.token,
      jwks_uri: running.platform.urls.jwks,
      registration_endpoint: running.platform.urls.registration,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      id_token_signing_alg_values_supported: ['RS256'],
      'https://purl.imsglobal.org/spec/lti-platform-configuration': {
        messages_supported: [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest' }],
      },
    });
  });

  it('registers the tool, answers client_id and deployment_id, and the tool can launch', async () => {
    const { token } = running.platform.startRegistration(`${tool.url}/register`);
    const res = await post(token, registration());
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const clientId = body.client_id as string;
    const deploymentId = (body[TOOL_CONFIGURATION] as { deployment_id: string }).deployment_id;
    expect(clientId).toBeTruthy();
    expect(deploymentId).toBeTruthy();
    expect(body.scope).toBe([SCOPE.score, SCOPE.lineItem, SCOPE.membershipReadOnly].join(' '));
    const registered = running.platform.store.tools.get(clientId);
    expect(registered).toMatchObject({
      name: 'Lab Orchestrator',
      deploymentIds: [deploymentId],
      deepLinkingUrl: tool.deepLinkingUrl,
      privacy: { name: true, email: false },
      status: 'active',
    });

    // The token is single use.
    expect((await post(token, registration())).status).toBe(401);

    const link = running.platform.addResourceLink({ courseId: 'c1', clientId, title: 'Registered lab' });
    const { answer } = await launch(running.platform, running.platform.urls.launch(link.id, 'alice'), tool.launchUrl);
    const payload = decodeJwt(answer.fields.id_token!);
    expect(payload).toMatchObject({
      aud: clientId,
      name: 'Alice',
      [CLAIM.deploymentId]: deploymentId,
      [CLAIM.custom]: { source: 'dynamic' },
    });
    expect(payload).not.toHaveProperty('email');
  });

  it('can leave the tool pending until an administrator activates it (Moodle)', async () => {
    const { token } = running.platform.startRegistration(`${tool.url}/register`, { startPending: true });
    const clientId = ((await (await post(token, registration())).json()) as { client_id: string }).client_id;
    const link = running.platform.addResourceLink({ courseId: 'c1', clientId, title: 'Pending' });
    expect((await fetch(running.platform.urls.launch(link.id, 'alice'))).status).toBe(403);
    running.platform.activateTool(clientId);
    expect((await fetch(running.platform.urls.launch(link.id, 'alice'))).status).toBe(200);
  });

  it.each([
    ['no registration token', undefined, {}, 'registration token'],
    ['response_types without id_token', 'token', { response_types: ['code'] }, 'response_types'],
    ['no initiate_login_uri', 'token', { initiate_login_uri: undefined }, 'initiate_login_uri'],
    ['redirect_uris not an array', 'token', { redirect_uris: 'https://tool.example/launch' }, 'redirect_uris'],
    ['no jwks_uri', 'token', { jwks_uri: undefined }, 'jwks_uri'],
    [
      'client_secret_basic',
      'token',
      { token_endpoint_auth_method: 'client_secret_basic' },
      'token_endpoint_auth_method',
    ],
    ['no tool configuration', 'token', { [TOOL_CONFIGURATION]: undefined }, TOOL_CONFIGURATION],
    [
      'a domain other than the target_link_uri one',
      'token',
      {
        [TOOL_CONFIGURATION]: {
          domain: 'elsewhere.example',
          target_link_uri: 'https://tool.example/launch',
          claims: [],
        },
      },
      'domain',
    ],
  ])('refuses a registration with %s', async (_name, withToken, change, word) => {
    const { token } = running.platform.startRegistration(`${tool.url}/register`);
    const res = await post(withToken ? token : undefined, registration(change));
    expect(res.status).toBe(withToken ? 400 : 401);
    expect(((await res.json()) as { error_description: string }).error_description).toContain(word);
  });

  it('serves a page that embeds the tool registration and listens for its close message', async () => {
    const res = await fetch(running.platform.urls.registrationStart(`${tool.url}/register`));
    const html = await res.text();
    expect(html).toContain('id="registration-frame"');
    expect(html).toContain('registration_token=');
    expect(html).toContain('org.imsglobal.lti.close');
  });
});
