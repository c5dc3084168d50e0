/**
 * @file The OIDC authorization endpoint (Security Framework 1.0 §5.1.1.2–5,
 * OIDC Core §3.2 implicit flow with form_post), checked the way Moodle's
 * auth.php does. An unknown client, a redirect_uri not registered exactly, or
 * a response_mode other than form_post gets an error page (there is nowhere
 * safe to send the browser); every other refusal is form-posted to the
 * redirect_uri as `error` + `error_description` + `state`.
 */
import { type Response, Router } from 'express';
import { decodeJwt } from 'jose';
import type { PlatformContext } from './context.js';
import { browserError } from './errors.js';
import { autoSubmitForm } from './html.js';
import { launchClaims, signIdToken } from './idToken.js';
import { launchRoles } from './launch.js';
import type { AuthRequestRecord, LaunchHint, Tool } from './model.js';

type AuthParams = Record<string, string | undefined>;

class AuthRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function authorizationRouter(ctx: PlatformContext): Router {
  const router = Router();
  const handle = async (res: Response, params: AuthParams) => {
    const record: AuthRequestRecord = { receivedAt: new Date(), params, outcome: 'refused' };
    ctx.store.authRequests.push(record);
    const tool = params.client_id ? ctx.store.tools.get(params.client_id) : undefined;
    if (!tool)
      throw browserError(
        400,
        'unauthorized_client',
        `client_id ${params.client_id ?? '(missing)'} is not a registered tool`,
      );
    const redirectUri = params.redirect_uri;
    if (!redirectUri || !tool.redirectUris.includes(redirectUri)) {
      throw browserError(
        400,
        'invalid_request',
        `redirect_uri ${redirectUri ?? '(missing)'} is not registered for tool ${tool.clientId}`,
      );
    }
    if (params.response_mode !== 'form_post') {
      throw browserError(
        400,
        'invalid_request',
        `response_mode must be form_post, got ${params.response_mode ?? '(missing)'}`,
      );
    }
    const state = params.state;
    try {
      const hint = checkRequest(ctx, tool, params);
      const idToken = await issueIdToken(ctx, tool, hint, params.nonce as string, redirectUri, state);
      record.outcome = 'id_token';
      res
        .type('html')
        .send(autoSubmitForm(redirectUri, state === undefined ? { id_token: idToken } : { id_token: idToken, state }));
    } catch (err) {
      if (!(err instanceof AuthRefusal)) throw err;
      record.error = err.code;
      const fields: Record<string, string> = { error: err.code, error_description: err.message };
      if (state !== undefined) fields.state = state;
      res.type('html').send(autoSubmitForm(redirectUri, fields));
    }
  };
  router.get('/auth', (req, res) => handle(res, stringParams(req.query)));
  router.post('/auth', (req, res) => handle(res, stringParams(req.body)));
  return router;
}

function checkRequest(ctx: PlatformContext, tool: Tool, p: AuthParams): LaunchHint {
  if (!p.scope?.split(' ').includes('openid')) throw new AuthRefusal('invalid_scope', 'scope must be openid');
  if (p.response_type !== 'id_token') {
    throw new AuthRefusal(
      'unsupported_response_type',
      `response_type must be id_token, got ${p.response_type ?? '(missing)'}`,
    );
  }
  if (p.prompt !== undefined && p.prompt !== 'none')
    throw new AuthRefusal('invalid_request', `prompt must be none, got ${p.prompt}`);
  if (!p.nonce) throw new AuthRefusal('invalid_request', 'nonce is required');
  if (!p.login_hint) throw new AuthRefusal('invalid_request', 'login_hint is required');
  if (!p.lti_message_hint) throw new AuthRefusal('invalid_request', 'lti_message_hint is required');
  const hint = ctx.store.launchHints.get(p.lti_message_hint);
  if (!hint || hint.expiresAt < Date.now()) {
    throw new AuthRefusal('invalid_request', 'lti_message_hint is unknown or expired: start the launch again');
  }
  if (hint.userId !== p.login_hint)
    throw new AuthRefusal('access_denied', 'login_hint does not match the user who started the launch');
  if (hint.clientId !== tool.clientId) {
    throw new AuthRefusal('unauthorized_client', 'client_id does not match the tool the launch was started for');
  }
  if (tool.status !== 'active') throw new AuthRefusal('access_denied', `tool ${tool.clientId} is pending activation`);
  if (!tool.deploymentIds.includes(hint.deploymentId)) {
    throw new AuthRefusal('access_denied', `deployment ${hint.deploymentId} of tool ${tool.clientId} was removed`);
  }
  return hint;
}

async function issueIdToken(
  ctx: PlatformContext,
  tool: Tool,
  hint: LaunchHint,
  nonce: string,
  redirectUri: string,
  state: string | undefined,
): Promise<string> {
  const user = ctx.store.users.get(hint.userId);
  const course = ctx.store.courses.get(hint.courseId);
  if (!user || !course) throw new AuthRefusal('access_denied', 'the user or course of this launch no longer exists');
  const link = hint.resourceLinkId ? ctx.store.resourceLinks.get(hint.resourceLinkId) : undefined;
  if (hint.resourceLinkId && !link)
    throw new AuthRefusal('access_denied', 'the resource link of this launch no longer exists');
  const session = hint.deepLinkingSessionId ? ctx.store.deepLinkingSessions.get(hint.deepLinkingSessionId) : undefined;
  const claims = launchClaims(ctx, {
    hint,
    tool,
    user,
    course,
    roles: launchRoles(ctx, course, user),
    link,
    deepLinkingSettings: session?.settings,
    nonce,
  });
  const token = await signIdToken(ctx, claims, ctx.tampers.shift());
  // Record what was really sent (a test may have tampered with it).
  ctx.store.idTokens.push({ hintId: hint.id, redirectUri, state, token, payload: decodeJwt(token) });
  return token;
}

function stringParams(source: unknown): AuthParams {
  const params: AuthParams = {};
  if (source && typeof source === 'object') {
    for (const [k, v] of Object.entries(source)) if (typeof v === 'string') params[k] = v;
  }
  return params;
}
