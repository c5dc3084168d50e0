/**
 * @file LTI Dynamic Registration 1.0, tool side, as Moodle and Canvas run it:
 * the platform opens `/lti/register?openid_configuration=…&registration_token=…`
 * in a frame or window; we fetch its configuration (sending the token as
 * Bearer: Canvas needs it, ltijs 5.9.9 does not send it, hence our own
 * client), post our registration, register the platform with the answered
 * client_id and deployment_id, and tell the platform we are done
 * (`org.imsglobal.lti.close`). A dynamically registered platform starts
 * inactive unless configured otherwise: an admin activates it
 * (`lab-orchestrator platform activate`), because anyone holding the URL
 * could otherwise attach a platform of their own.
 */
import { z } from 'zod';
import { badRequest, HttpError } from '../server/errors.js';
import { SCOPE } from './claims.js';
import type { PlatformView, Registrations } from './registration.js';

const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';

const configurationSchema = z.looseObject({
  issuer: z.url(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  registration_endpoint: z.url(),
  jwks_uri: z.url(),
  authorization_server: z.string().optional(),
});

const answerSchema = z.looseObject({
  client_id: z.string().min(1),
  [TOOL_CONFIGURATION]: z.looseObject({ deployment_id: z.string().min(1).optional() }).optional(),
});

export interface ToolDescription {
  publicUrl: string;
  name: string;
}

export async function registerDynamically(
  registrations: Registrations,
  tool: ToolDescription,
  configurationUrl: string,
  registrationToken: string | undefined,
  opts: { active: boolean },
): Promise<PlatformView> {
  const auth: Record<string, string> = registrationToken ? { authorization: `Bearer ${registrationToken}` } : {};
  const configRes = await fetch(configurationUrl, { headers: { accept: 'application/json', ...auth } }).catch(
    (err: Error) => {
      throw new HttpError(502, `could not fetch the platform configuration ${configurationUrl}: ${err.message}`);
    },
  );
  if (!configRes.ok)
    throw new HttpError(502, `the platform configuration ${configurationUrl} answered ${configRes.status}`);
  const parsed = configurationSchema.safeParse(await configRes.json().catch(() => undefined));
  if (!parsed.success) {
    throw badRequest(
      'the platform configuration is incomplete',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const config = parsed.data;
  // The configuration URL must live under the issuer (Dynamic Registration §3.5.1).
  if (!configurationUrl.startsWith(config.issuer.replace(/\/$/, ''))) {
    throw badRequest(`the configuration URL is not under the issuer ${config.issuer}`);
  }
  const base = tool.publicUrl;
  const registration = {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: `${base}/lti/login`,
    redirect_uris: [`${base}/lti`],
    client_name: tool.name,
    jwks_uri: `${base}/lti/keys`,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: [SCOPE.score, SCOPE.lineItem, SCOPE.memberships].join(' '),
    [TOOL_CONFIGURATION]: {
      domain: new URL(base).host,
      target_link_uri: `${base}/lti`,
      claims: ['iss', 'sub', 'name', 'given_name', 'family_name', 'email'],
      messages: [{ type: 'LtiDeepLinkingRequest', target_link_uri: `${base}/lti`, label: `Add a ${tool.name} lab` }],
    },
  };
  const res = await fetch(config.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...auth },
    body: JSON.stringify(registration),
  });
  if (!res.ok) {
    throw new HttpError(
      502,
      `the platform refused the registration (${res.status}): ${(await res.text()).slice(0, 300)}`,
    );
  }
  const answer = answerSchema.safeParse(await res.json().catch(() => undefined));
  if (!answer.success) throw new HttpError(502, 'the platform answered the registration without client_id');
  const deploymentId = answer.data[TOOL_CONFIGURATION]?.deployment_id;
  if (!deploymentId) throw new HttpError(502, 'the platform answered the registration without deployment_id');
  return registrations.register(
    {
      issuer: config.issuer,
      clientId: answer.data.client_id,
      authUrl: config.authorization_endpoint,
      tokenUrl: config.token_endpoint,
      jwksUrl: config.jwks_uri,
      deploymentIds: [deploymentId],
      name: new URL(config.issuer).host,
      ...(config.authorization_server && /^https?:/.test(config.authorization_server)
        ? { authorizationServer: config.authorization_server }
        : {}),
    },
    { active: opts.active },
  );
}

/** The page that ends the registration in the platform's frame or window. */
export function registrationDonePage(view: PlatformView): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Registered</title></head>
<body><p id="registered" data-client-id="${encodeURIComponent(view.clientId)}">Lab Orchestrator is registered${
    view.active ? '' : ' and waits for an administrator to activate it'
  }.</p>
<script>(window.opener || window.parent).postMessage({ subject: 'org.imsglobal.lti.close' }, '*');</script></body></html>`;
}
