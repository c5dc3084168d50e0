/**
 * @file The LTI 1.3 claims we read, and the launch checks ltijs 5.9.9 lacks
 * (pure, unit-tested): `aud` holds only our client (an extra audience must be
 * named by `azp`), `deployment_id` is a registered deployment of that
 * platform, `target_link_uri` and `nonce` are what our login sent, and the
 * login was recent. ltijs already checks the signature (RS256, kid from the
 * platform's JWKS), iss/aud against a registered platform, exp, iat age,
 * nonce reuse, message_type, version, sub and roles.
 */

export const CLAIM = {
  messageType: 'https://purl.imsglobal.org/spec/lti/claim/message_type',
  version: 'https://purl.imsglobal.org/spec/lti/claim/version',
  deploymentId: 'https://purl.imsglobal.org/spec/lti/claim/deployment_id',
  targetLinkUri: 'https://purl.imsglobal.org/spec/lti/claim/target_link_uri',
  resourceLink: 'https://purl.imsglobal.org/spec/lti/claim/resource_link',
  roles: 'https://purl.imsglobal.org/spec/lti/claim/roles',
  context: 'https://purl.imsglobal.org/spec/lti/claim/context',
  custom: 'https://purl.imsglobal.org/spec/lti/claim/custom',
  launchPresentation: 'https://purl.imsglobal.org/spec/lti/claim/launch_presentation',
  ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice',
  deepLinkingSettings: 'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings',
} as const;

export const SCOPE = {
  score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  lineItem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  memberships: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
} as const;

/** A refused launch: a code for tests and logs, and a sentence for the person in front of the LMS. */
export class LaunchRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LaunchRefused';
  }
}

/** The verified id_token payload (ltijs verified the signature). */
export type IdTokenPayload = Record<string, unknown> & {
  iss: string;
  sub?: string;
  aud: string | string[];
  azp?: string;
  nonce?: string;
  iat?: number;
};

export interface LoginRecord {
  issuer: string;
  clientId: string;
  targetLinkUri: string;
  nonce: string;
  createdAt: Date;
}

export interface CheckContext {
  login: LoginRecord;
  /** Whether (issuer, clientId, deploymentId) is registered. */
  deploymentKnown: boolean;
  now: Date;
  /** How long a login may take from our redirect to the id_token (seconds). */
  loginMaxAge: number;
}

/** Throws LaunchRefused for the first check that fails. */
export function checkLaunch(payload: IdTokenPayload, c: CheckContext): void {
  const { login } = c;
  if (payload.iss !== login.issuer) {
    throw new LaunchRefused(
      401,
      'iss_mismatch',
      `the id_token's issuer "${payload.iss}" is not the one that started the login`,
    );
  }
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!aud.includes(login.clientId)) {
    throw new LaunchRefused(
      401,
      'aud_mismatch',
      `the id_token's audience does not contain our client id "${login.clientId}"`,
    );
  }
  if (aud.length > 1 && payload.azp !== login.clientId) {
    throw new LaunchRefused(
      401,
      'azp_mismatch',
      'the id_token names several audiences but its azp is not our client id',
    );
  }
  if (payload.nonce !== login.nonce) {
    throw new LaunchRefused(401, 'nonce_mismatch', 'the id_token nonce is not the one our login sent');
  }
  if (c.now.getTime() - login.createdAt.getTime() > c.loginMaxAge * 1000) {
    throw new LaunchRefused(401, 'login_expired', `the login started more than ${c.loginMaxAge} s ago; launch again`);
  }
  const target = payload[CLAIM.targetLinkUri];
  if (typeof target !== 'string' || target !== login.targetLinkUri) {
    throw new LaunchRefused(
      401,
      'target_link_uri_mismatch',
      `target_link_uri "${String(target)}" is not the one the login was started for ("${login.targetLinkUri}")`,
    );
  }
  const deployment = payload[CLAIM.deploymentId];
  if (typeof deployment !== 'string' || deployment.length === 0 || deployment.length > 255) {
    throw new LaunchRefused(400, 'bad_deployment_id', 'deployment_id must be a string of 1 to 255 characters');
  }
  if (!c.deploymentKnown) {
    throw new LaunchRefused(
      403,
      'unknown_deployment',
      `deployment_id "${deployment}" is not registered for this platform; an administrator must add it`,
    );
  }
}

export type CourseRole = 'instructor' | 'learner';

const INSTRUCTOR_ROLES = [
  'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
  'http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper',
  'http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator',
];

/** Instructor for instructors, content developers, course administrators and their sub-roles (e.g. TeachingAssistant); learner otherwise. */
export function courseRole(roles: readonly string[] | undefined): CourseRole {
  for (const role of roles ?? []) {
    for (const base of INSTRUCTOR_ROLES) {
      if (role === base || role.startsWith(`${base}#`)) return 'instructor';
      // Short names are deprecated but still sent by some platforms.
      if (role === base.split('#')[1]) return 'instructor';
    }
    if (role.startsWith('http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#')) return 'instructor';
  }
  return 'learner';
}

/** The display name a launch gives, falling back to the subject. */
export function displayName(p: Record<string, unknown>, sub: string): string {
  if (typeof p.name === 'string' && p.name.trim()) return p.name.trim();
  const parts = [p.given_name, p.family_name].filter((v): v is string => typeof v === 'string' && v.trim() !== '');
  return parts.length ? parts.join(' ') : sub;
}

export const userKey = (issuer: string, sub: string) => `lti:${issuer}#${sub}`;
export const courseKey = (issuer: string, contextId: string) => `lti:${issuer}#${contextId}`;
export const assignmentKey = (issuer: string, resourceLinkId: string) => `lti:${issuer}#${resourceLinkId}`;

/** The LMS subject of a user key made by userKey. */
export function subjectOf(key: string, issuer: string): string | undefined {
  const prefix = `lti:${issuer}#`;
  return key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
}
