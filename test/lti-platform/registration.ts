/**
 * @file LTI Dynamic Registration 1.0. The platform opens the tool's
 * registration URL with `openid_configuration` and `registration_token`;
 * serves its configuration only to a bearer of that token (like Canvas);
 * accepts the tool's registration POST, checked the way Moodle's
 * openid-registration.php does, and answers with client_id and deployment_id.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Request, Router } from 'express';
import { z } from 'zod';
import type { PlatformContext } from './context.js';
import { PlatformError } from './errors.js';
import { escapeHtml, page } from './html.js';
import type { RegistrationToken, Tool } from './model.js';
import { zodProblems } from './scoreRules.js';
import { ALL_SCOPES, MESSAGE_TYPE, REGISTRATION_CLOSE_SUBJECT } from './vocabulary.js';

const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
const PLATFORM_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-platform-configuration';

const message = z.looseObject({
  type: z.string().min(1),
  target_link_uri: z.url().optional(),
  label: z.string().optional(),
  custom_parameters: z.record(z.string(), z.string()).optional(),
  placements: z.array(z.string()).optional(),
  roles: z.array(z.string()).optional(),
});
const registrationSchema = z.looseObject({
  application_type: z.literal('web').optional(),
  response_types: z.array(z.string()).refine((t) => t.includes('id_token'), 'must include id_token'),
  grant_types: z
    .array(z.string())
    .refine(
      (g) => g.includes('implicit') && g.includes('client_credentials'),
      'must include implicit and client_credentials',
    ),
  initiate_login_uri: z.url(),
  redirect_uris: z.array(z.url()).min(1),
  client_name: z.string().min(1),
  jwks_uri: z.url(),
  logo_uri: z.url().optional(),
  token_endpoint_auth_method: z.literal('private_key_jwt'),
  scope: z.string().optional(),
  [TOOL_CONFIGURATION]: z.looseObject({
    domain: z.string().min(1),
    target_link_uri: z.url(),
    custom_parameters: z.record(z.string(), z.string()).optional(),
    claims: z.array(z.string()),
    messages: z.array(message).optional(),
  }),
});

export function startRegistration(ctx: PlatformContext, toolUrl: string, opts: { startPending?: boolean } = {}) {
  const token = randomBytes(24).toString('base64url');
  const record: RegistrationToken = {
    token,
    expiresAt: Date.now() + 3_600_000,
    used: false,
    startPending: opts.startPending ?? false,
  };
  ctx.store.registrationTokens.set(token, record);
  const url = new URL(toolUrl);
  url.searchParams.set('openid_configuration', ctx.urls.openidConfiguration);
  url.searchParams.set('registration_token', token);
  return { url: url.href, token };
}

export function openidConfiguration(ctx: PlatformContext): Record<string, unknown> {
  return {
    issuer: ctx.urls.issuer,
    authorization_endpoint: ctx.urls.authorization,
    token_endpoint: ctx.urls.token,
    authorization_server: ctx.urls.token,
    registration_endpoint: ctx.urls.registration,
    jwks_uri: ctx.urls.jwks,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', ...ALL_SCOPES],
    response_types_supported: ['id_token'],
    subject_types_supported: ['public', 'pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['sub', 'iss', 'name', 'given_name', 'family_name', 'email', 'picture'],
    [PLATFORM_CONFIGURATION]: {
      product_family_code: 'lab-orchestrator-test-platform',
      version: '1.0',
      messages_supported: [{ type: MESSAGE_TYPE.resourceLink }, { type: MESSAGE_TYPE.deepLinkingRequest }],
      variables: [
        'User.id',
        'Person.name.full',
        'Person.name.given',
        'Person.name.family',
        'Person.email.primary',
        'Context.id',
        'Context.title',
        'Context.label',
        'ResourceLink.id',
        'ResourceLink.title',
      ],
    },
  };
}

export function registrationRouter(ctx: PlatformContext): Router {
  const router = Router();

  router.get('/registration/start', (req, res) => {
    const toolUrl = req.query.url;
    if (typeof toolUrl !== 'string' || !URL.canParse(toolUrl))
      throw new PlatformError(400, 'invalid_request', 'url: the tool registration URL is required', 'html');
    const { url } = startRegistration(ctx, toolUrl);
    res.type('html').send(
      page(
        'Register a tool',
        `<h1>Register a tool</h1>
<p id="registration-status">Registering with <code>${escapeHtml(toolUrl)}</code>…</p>
<iframe id="registration-frame" src="${escapeHtml(url)}" title="Tool registration"></iframe>
<script>
window.addEventListener('message', (event) => {
  if (event.data && event.data.subject === '${REGISTRATION_CLOSE_SUBJECT}') {
    document.getElementById('registration-frame').remove();
    const status = document.getElementById('registration-status');
    status.textContent = 'Registration complete.';
    status.dataset.done = 'true';
  }
});
</script>`,
      ),
    );
  });

  router.get('/registration/openid-configuration', (req, res) => {
    if (ctx.options.requireTokenForConfiguration) registrationToken(ctx, req);
    res.json(openidConfiguration(ctx));
  });

  router.post('/registration', (req, res) => {
    const token = registrationToken(ctx, req);
    if (!req.is('application/json'))
      throw new PlatformError(400, 'invalid_client_metadata', 'the registration must be application/json');
    const parsed = registrationSchema.safeParse(req.body);
    if (!parsed.success)
      throw new PlatformError(400, 'invalid_client_metadata', `invalid registration: ${zodProblems(parsed.error)}`);
    const body = parsed.data;
    const config = body[TOOL_CONFIGURATION];
    const target = new URL(config.target_link_uri);
    if (config.domain !== target.host && config.domain !== target.hostname) {
      throw new PlatformError(
        400,
        'invalid_client_metadata',
        `${TOOL_CONFIGURATION}.domain ${config.domain} is not the domain of target_link_uri ${target.host}`,
      );
    }
    token.used = true;
    const requested = (body.scope ?? '').split(' ').filter(Boolean);
    const deepLinking = config.messages?.find((m) => m.type === MESSAGE_TYPE.deepLinkingRequest);
    const claims = config.claims;
    const tool: Tool = {
      clientId: randomUUID(),
      name: body.client_name,
      deploymentIds: [randomUUID()],
      loginUrl: body.initiate_login_uri,
      loginMethod: 'POST',
      redirectUris: body.redirect_uris,
      targetLinkUri: config.target_link_uri,
      deepLinkingUrl: deepLinking?.target_link_uri ?? config.target_link_uri,
      jwksUrl: body.jwks_uri,
      scopes: requested.filter((s) => ALL_SCOPES.includes(s)),
      privacy: {
        name: ['name', 'given_name', 'family_name'].some((c) => claims.includes(c)),
        email: claims.includes('email'),
      },
      custom: config.custom_parameters ?? {},
      status: token.startPending ? 'pending' : 'active',
    };
    ctx.store.tools.set(tool.clientId, tool);
    const deploymentId = tool.deploymentIds[0]!;
    const response = {
      ...body,
      client_id: tool.clientId,
      scope: tool.scopes.join(' '),
      [TOOL_CONFIGURATION]: { ...config, deployment_id: deploymentId },
    };
    ctx.store.registrations.push({
      receivedAt: new Date(),
      request: req.body as Record<string, unknown>,
      response,
      clientId: tool.clientId,
      deploymentId,
    });
    res.json(response);
  });

  return router;
}

function registrationToken(ctx: PlatformContext, req: Request): RegistrationToken {
  const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  const token = match?.[1] ? ctx.store.registrationTokens.get(match[1]) : undefined;
  if (!token || token.used || token.expiresAt < Date.now()) {
    throw new PlatformError(
      401,
      'invalid_token',
      'the registration token (Authorization: Bearer <registration_token>) is missing, unknown, used or expired',
      'json',
      {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      },
    );
  }
  return token;
}
