/**
 * @file A minimal LTI tool for the platform's own tests, written with jose:
 * its key pair and JWKS endpoint on loopback, client assertions, deep
 * linking responses, and a browser-less launch (reading the platform's
 * auto-submitting forms). The real tool is the facade in lti/.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  type CryptoKey,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { autoSubmitForm } from './html.js';
import type { Platform, ToolInput } from './platform.js';
import { CLAIM, CLIENT_ASSERTION_TYPE } from './vocabulary.js';

export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
}

function unescapeHtml(value: string): string {
  return value
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/** Reads the first form of a page the platform rendered (its markup is regular: see html.ts). */
export function parseForm(html: string): Form {
  const form = /<form[^>]*method="([^"]*)"[^>]*action="([^"]*)"/.exec(html);
  if (!form) throw new Error(`no form in page:\n${html}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescapeHtml(m[1]!)] = unescapeHtml(m[2]!);
  }
  return { method: form[1]!, action: unescapeHtml(form[2]!), fields };
}

export class TestTool {
  private keys: { kid: string; privateKey: CryptoKey; publicJwk: JWK }[] = [];
  private constructor(
    private readonly server: Server,
    private readonly app: express.Express,
    readonly url: string,
  ) {}

  static async start(): Promise<TestTool> {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const tool = new TestTool(server, app, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    app.get('/jwks', (_req, res) => {
      res.json({ keys: tool.keys.map((k) => k.publicJwk) });
    });
    await tool.rotateKey();
    return tool;
  }

  get jwksUrl() {
    return `${this.url}/jwks`;
  }
  get loginUrl() {
    return `${this.url}/login`;
  }
  get launchUrl() {
    return `${this.url}/launch`;
  }
  get deepLinkingUrl() {
    return `${this.url}/deep-linking`;
  }

  /** What `platform.registerTool` needs. */
  registration(extra: Partial<ToolInput> = {}): ToolInput {
    return {
      name: 'Test tool',
      loginUrl: this.loginUrl,
      redirectUris: [this.launchUrl, this.deepLinkingUrl],
      targetLinkUri: this.launchUrl,
      deepLinkingUrl: this.deepLinkingUrl,
      jwksUrl: this.jwksUrl,
      ...extra,
    };
  }

  async rotateKey(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = randomUUID();
    this.keys.push({ kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } });
    return kid;
  }

  /** Signs with the tool's current key, or with a key the tool never published (`foreign`). */
  async sign(payload: JWTPayload, opts: { foreign?: boolean; expiresIn?: string | number } = {}): Promise<string> {
    const key = this.keys.at(-1)!;
    const privateKey = opts.foreign ? (await generateKeyPair('RS256')).privateKey : key.privateKey;
    const jwt = new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid });
    if (payload.iat === undefined) jwt.setIssuedAt();
    if (payload.exp === undefined) jwt.setExpirationTime(opts.expiresIn ?? '5m');
    return jwt.sign(privateKey);
  }

  clientAssertion(platform: Platform, clientId: string, claims: JWTPayload = {}, opts: { foreign?: boolean } = {}) {
    return this.sign({ iss: clientId, sub: clientId, aud: platform.urls.token, jti: randomUUID(), ...claims }, opts);
  }

  /** POSTs a token request; `assertion` defaults to a fresh valid one. */
  async requestToken(platform: Platform, clientId: string, scopes: string[], assertion?: string): Promise<Response> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion ?? (await this.clientAssertion(platform, clientId)),
      scope: scopes.join(' '),
    });
    return fetch(platform.urls.token, { method: 'POST', body });
  }

  async accessToken(platform: Platform, clientId: string, scopes: string[]): Promise<string> {
    const res = await this.requestToken(platform, clientId, scopes);
    if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** Serves a page at `path` (for browser tests of what the platform offers a tool page). */
  page(path: string, html: string): void {
    this.app.get(path, (_req, res) => {
      res.type('html').send(html);
    });
  }

  /**
   * Browser routes for launches from `platform`: /login sends the browser to
   * the authorization endpoint; /launch verifies the id_token and greets the
   * user; /deep-linking verifies it and answers with one lab activity.
   */
  acceptLaunchesFrom(platform: Platform, clientId: string): void {
    const nonces = new Map<string, string>();
    const jwks = createRemoteJWKSet(new URL(platform.urls.jwks));
    this.app.all('/login', (req, res) => {
      const login = (req.method === 'POST' ? req.body : req.query) as Record<string, string>;
      if (login.iss !== platform.urls.issuer || login.client_id !== clientId) {
        res.status(400).send('unknown platform');
        return;
      }
      const redirectUri = login.target_link_uri === this.deepLinkingUrl ? this.deepLinkingUrl : this.launchUrl;
      const request = authRequest(login, redirectUri);
      nonces.set(request.get('state')!, request.get('nonce')!);
      res.redirect(302, `${platform.urls.authorization}?${request}`);
    });
    const verify = async (body: Record<string, string>) => {
      const nonce = nonces.get(body.state ?? '');
      nonces.delete(body.state ?? '');
      const { payload } = await jwtVerify(body.id_token ?? '', jwks, {
        issuer: platform.urls.issuer,
        audience: clientId,
      });
      if (!nonce || payload.nonce !== nonce) throw new Error('state or nonce mismatch');
      return payload;
    };
    this.app.post('/launch', async (req, res) => {
      const payload = await verify(req.body);
      const target = (payload[CLAIM.launchPresentation] as { document_target: string }).document_target;
      res.send(`<h1 id="launched" data-sub="${payload.sub}" data-target="${target}">Hello ${payload.name}</h1>`);
    });
    this.app.post('/deep-linking', async (req, res) => {
      const payload = await verify(req.body);
      const settings = payload[CLAIM.deepLinkingSettings] as { deep_link_return_url: string; data?: string };
      const jwt = await this.sign({
        iss: clientId,
        aud: platform.urls.issuer,
        nonce: randomUUID(),
        [CLAIM.messageType]: 'LtiDeepLinkingResponse',
        [CLAIM.version]: '1.3.0',
        [CLAIM.deploymentId]: payload[CLAIM.deploymentId],
        [CLAIM.deepLinkingData]: settings.data,
        [CLAIM.deepLinkingContentItems]: [
          { type: 'ltiResourceLink', title: 'Picked lab', custom: { lab: 'picked' }, lineItem: { scoreMaximum: 7 } },
        ],
      });
      res.send(autoSubmitForm(settings.deep_link_return_url, { JWT: jwt }));
    });
  }

  /**
   * A dynamic registration page at /register, as a tool does it server-side:
   * read the platform configuration with the registration token, register,
   * then ask the platform to close the registration frame.
   */
  acceptRegistration(): void {
    this.app.get('/register', async (req, res) => {
      const configurationUrl = String(req.query.openid_configuration);
      const token = String(req.query.registration_token);
      const headers = { authorization: `Bearer ${token}` };
      const configuration = (await (await fetch(configurationUrl, { headers })).json()) as {
        registration_endpoint: string;
      };
      const registered = await fetch(configuration.registration_endpoint, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({
          application_type: 'web',
          response_types: ['id_token'],
          grant_types: ['implicit', 'client_credentials'],
          initiate_login_uri: this.loginUrl,
          redirect_uris: [this.launchUrl],
          client_name: 'Registered in a browser',
          jwks_uri: this.jwksUrl,
          token_endpoint_auth_method: 'private_key_jwt',
          'https://purl.imsglobal.org/spec/lti-tool-configuration': {
            domain: new URL(this.url).host,
            target_link_uri: this.launchUrl,
            claims: ['iss', 'sub'],
          },
        }),
      });
      const body = (await registered.json()) as { client_id?: string };
      res.type('html').send(`<!doctype html><p id="registered">${body.client_id ?? 'failed'}</p>
<script>(window.opener || window.parent).postMessage({ subject: 'org.imsglobal.lti.close' }, '*');</script>`);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

/** The auth request a tool sends after the platform's login initiation. */
export function authRequest(
  login: Record<string, string>,
  redirectUri: string,
  overrides: Record<string, string | undefined> = {},
) {
  const params: Record<string, string | undefined> = {
    scope: 'openid',
    response_type: 'id_token',
    response_mode: 'form_post',
    prompt: 'none',
    client_id: login.client_id,
    redirect_uri: redirectUri,
    login_hint: login.login_hint,
    lti_message_hint: login.lti_message_hint,
    state: randomUUID(),
    nonce: randomUUID(),
    ...overrides,
  };
  return new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Starts a launch at `startUrl` and returns the login initiation form the platform sends the browser. */
export async function startLaunch(startUrl: string): Promise<Form> {
  const res = await fetch(startUrl, { redirect: 'manual' });
  if (res.status !== 200) throw new Error(`launch start failed: ${res.status} ${await res.text()}`);
  return parseForm(await res.text());
}

/** Sends an auth request (POST, form-encoded) and returns the status and the form the platform answers with. */
export async function authorize(
  platform: Platform,
  params: URLSearchParams,
): Promise<{ status: number; html: string; form?: Form }> {
  const res = await fetch(platform.urls.authorization, { method: 'POST', body: params });
  const html = await res.text();
  return { status: res.status, html, form: html.includes('<form') ? parseForm(html) : undefined };
}

/** A whole launch without a browser: start, login initiation, auth request; returns the id_token form. */
export async function launch(
  platform: Platform,
  startUrl: string,
  redirectUri: string,
  overrides: Record<string, string | undefined> = {},
) {
  const login = await startLaunch(startUrl);
  const request = authRequest(login.fields, redirectUri, overrides);
  const answer = await authorize(platform, request);
  if (!answer.form) throw new Error(`no form in the authorization answer: ${answer.status} ${answer.html}`);
  return { login, request, answer: answer.form };
}

/** A course with a teacher, two learners and an administrator, and one graded activity of `tool`. */
export function seedCourse(platform: Platform, tool: TestTool, toolExtra: Partial<ToolInput> = {}) {
  const registered = platform.registerTool(tool.registration(toolExtra));
  const course = platform.addCourse({ label: 'NET101', title: 'Networking 101' });
  platform.addUser({
    id: 'teacher',
    name: 'Tess Teacher',
    givenName: 'Tess',
    familyName: 'Teacher',
    email: 'tess@example.edu',
  });
  platform.addUser({
    id: 'alice',
    name: 'Alice Learner',
    givenName: 'Alice',
    familyName: 'Learner',
    email: 'alice@example.edu',
  });
  platform.addUser({ id: 'bob', name: 'Bob Learner', email: 'bob@example.edu' });
  platform.addUser({ id: 'admin', name: 'Ada Admin', roles: ['Administrator'] });
  platform.enrol(course.id, 'teacher', 'Instructor');
  platform.enrol(course.id, 'alice', 'Learner');
  platform.enrol(course.id, 'bob', 'Learner');
  const link = platform.addResourceLink({
    courseId: course.id,
    clientId: registered.clientId,
    title: 'Reach the server',
    custom: { lab: 'linux-net-101', who: '$User.id' },
    lineItem: { scoreMaximum: 10 },
  });
  const lineItem = platform.lineItemsOf(link.id)[0]!;
  return { clientId: registered.clientId, deploymentId: registered.deploymentIds[0]!, course, link, lineItem };
}
