/**
 * @file The id_token of a launch (LTI Core 1.3 §5, Deep Linking 2.0 §4.4,
 * AGS 2.0 §3.1, NRPS 2.0 §3.6): every required claim, the service claims the
 * tool's scopes allow, names and email only as the tool's privacy allows.
 */
import { generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import type { IdTokenTamper, PlatformContext } from './context.js';
import type { Course, DeepLinkingSettings, LaunchHint, ResourceLink, Tool, User } from './model.js';
import { AGS_SCOPES, CLAIM, COURSE_OFFERING, LTI_VERSION, MESSAGE_TYPE, SCOPE } from './vocabulary.js';

interface LaunchParts {
  hint: LaunchHint;
  tool: Tool;
  user: User;
  course: Course;
  roles: string[];
  link?: ResourceLink;
  deepLinkingSettings?: DeepLinkingSettings;
  nonce: string;
}

export function launchClaims(ctx: PlatformContext, parts: LaunchParts): JWTPayload {
  const { hint, tool, user, course, link } = parts;
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    iss: ctx.urls.issuer,
    aud: tool.clientId,
    azp: tool.clientId,
    sub: user.id,
    iat: now,
    exp: now + ctx.options.idTokenLifetimeSeconds,
    nonce: parts.nonce,
    [CLAIM.messageType]: hint.messageType,
    [CLAIM.version]: LTI_VERSION,
    [CLAIM.deploymentId]: hint.deploymentId,
    [CLAIM.targetLinkUri]: hint.targetLinkUri,
    [CLAIM.roles]: parts.roles,
    [CLAIM.context]: { id: course.id, label: course.label, title: course.title, type: [COURSE_OFFERING] },
    [CLAIM.toolPlatform]: {
      guid: ctx.urls.issuer,
      name: ctx.options.name,
      product_family_code: 'lab-orchestrator-test-platform',
      version: '1.0',
      url: ctx.urls.base,
    },
    [CLAIM.launchPresentation]: {
      document_target: hint.documentTarget,
      return_url: ctx.urls.coursePage(course.id, user.id),
      locale: 'en',
    },
    [CLAIM.custom]: substitute({ ...tool.custom, ...(link?.custom ?? {}) }, parts),
    ...personClaims(tool, user),
  };
  if (link) claims[CLAIM.resourceLink] = { id: link.id, title: link.title, description: link.description ?? '' };
  if (hint.messageType === MESSAGE_TYPE.deepLinkingRequest)
    claims[CLAIM.deepLinkingSettings] = parts.deepLinkingSettings;
  const agsScopes = tool.scopes.filter((s) => AGS_SCOPES.includes(s));
  if (agsScopes.length > 0) {
    const endpoint: Record<string, unknown> = { scope: agsScopes, lineitems: ctx.urls.lineItems(course.id) };
    // AGS §3.1: `lineitem` only when the link has exactly one line item.
    const items = link ? ctx.store.lineItemsOfLink(link.id) : [];
    if (items.length === 1 && items[0]) endpoint.lineitem = ctx.urls.lineItem(course.id, items[0].id);
    claims[CLAIM.ags] = endpoint;
  }
  if (tool.scopes.includes(SCOPE.membershipReadOnly)) {
    claims[CLAIM.nrps] = { context_memberships_url: ctx.urls.memberships(course.id), service_versions: ['2.0'] };
  }
  return claims;
}

export function personClaims(tool: Tool, user: User): Record<string, string> {
  const claims: Record<string, string> = {};
  if (tool.privacy.name) {
    if (user.name) claims.name = user.name;
    if (user.givenName) claims.given_name = user.givenName;
    if (user.familyName) claims.family_name = user.familyName;
    if (user.picture) claims.picture = user.picture;
  }
  if (tool.privacy.email && user.email) claims.email = user.email;
  return claims;
}

/** LTI Core 1.3 §5.4.6 / Appendix: substitution variables in custom values; unknown ones stay as they are. */
function substitute(custom: Record<string, string>, parts: LaunchParts): Record<string, string> {
  const { tool, user, course, link } = parts;
  const values: Record<string, string | undefined> = {
    '$User.id': user.id,
    '$Context.id': course.id,
    '$Context.title': course.title,
    '$Context.label': course.label,
    '$ResourceLink.id': link?.id,
    '$ResourceLink.title': link?.title,
    '$Person.name.full': tool.privacy.name ? user.name : undefined,
    '$Person.name.given': tool.privacy.name ? user.givenName : undefined,
    '$Person.name.family': tool.privacy.name ? user.familyName : undefined,
    '$Person.email.primary': tool.privacy.email ? user.email : undefined,
  };
  return Object.fromEntries(Object.entries(custom).map(([k, v]) => [k, values[v] ?? v]));
}

/** Signs an id_token with the platform's current key, applying a test's tamper if one is queued. */
export async function signIdToken(ctx: PlatformContext, claims: JWTPayload, tamper?: IdTokenTamper): Promise<string> {
  if (!tamper) return ctx.keys.sign(claims);
  const payload: JWTPayload = { ...claims, ...(tamper.set ?? {}) };
  for (const name of tamper.omit ?? []) delete payload[name];
  const kid = tamper.kid === undefined ? ctx.keys.currentKid : tamper.kid;
  // Another kid with the real key: the tool must refuse an unknown or missing kid.
  if (!tamper.foreignKey) return ctx.keys.sign(payload, { kid });
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT(payload)
    .setProtectedHeader(kid === null ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid })
    .sign(privateKey);
}
