/**
 * @file What every endpoint of the test platform shares: its state, keys,
 * URLs, options, and the switches tests flip (service outage, tampered
 * id_tokens).
 */
import type { PlatformKeys } from './keys.js';
import type { DeepLinkingSettings, PlatformStore } from './model.js';
import type { ToolKeys } from './toolKeys.js';
import type { GradingProgress } from './vocabulary.js';

export interface PlatformOptions {
  /** Where the platform is served, e.g. `http://127.0.0.1:4100` (no trailing slash needed). */
  baseUrl: string;
  /** The `iss` of its id_tokens; defaults to `baseUrl`. */
  issuer?: string;
  /** Shown in tool_platform and on pages. */
  name?: string;
  /** Lifetime of id_tokens (default 300 s). */
  idTokenLifetimeSeconds?: number;
  /** Lifetime of service access tokens (default 3600 s). */
  accessTokenLifetimeSeconds?: number;
  /** How long a started launch may wait for its authorization request (default 600 s). */
  launchHintLifetimeSeconds?: number;
  /**
   * Whose score rules to follow (default moodle): a non-learner userId is 400
   * (Moodle) or 422 (Canvas); a timestamp not later in whole seconds is 409
   * (Moodle), an older one 400 (Canvas).
   */
  flavour?: 'moodle' | 'canvas';
  /** gradingProgress values that record a grade (default: FullyGraded; Canvas flavour adds PendingManual). */
  gradedProgress?: GradingProgress[];
  /** Refuse the openid-configuration GET without the registration token as Bearer (Canvas; default true). */
  requireTokenForConfiguration?: boolean;
  /**
   * lti_storage_target of iframe launches: `_parent` (the course page answers
   * Platform Storage itself; the default) or the name of a hidden sibling
   * frame that does, as Canvas's `post_message_forwarding` (the Canvas
   * flavour's default).
   */
  storageTarget?: string;
}

export interface PlatformUrls {
  base: string;
  issuer: string;
  authorization: string;
  token: string;
  jwks: string;
  openidConfiguration: string;
  registration: string;
  deepLinkingReturn: string;
  lineItems(courseId: string): string;
  lineItem(courseId: string, lineItemId: string): string;
  memberships(courseId: string): string;
  coursePage(courseId: string, userId: string): string;
  gradebookPage(courseId: string): string;
  launch(resourceLinkId: string, userId: string, target?: 'iframe' | 'window'): string;
  deepLinkingStart(courseId: string, userId: string, clientId: string, target?: 'iframe' | 'window'): string;
  registrationStart(toolRegistrationUrl: string): string;
}

export function platformUrls(baseUrl: string, issuer?: string): PlatformUrls {
  const base = baseUrl.replace(/\/+$/, '');
  const e = encodeURIComponent;
  const lineItems = (courseId: string) => `${base}/api/lti/courses/${e(courseId)}/line_items`;
  return {
    base,
    issuer: issuer ?? base,
    authorization: `${base}/auth`,
    token: `${base}/token`,
    jwks: `${base}/.well-known/jwks.json`,
    openidConfiguration: `${base}/registration/openid-configuration`,
    registration: `${base}/registration`,
    deepLinkingReturn: `${base}/deep-linking/return`,
    lineItems,
    lineItem: (courseId, lineItemId) => `${lineItems(courseId)}/${e(lineItemId)}`,
    memberships: (courseId) => `${base}/api/lti/courses/${e(courseId)}/memberships`,
    coursePage: (courseId, userId) => `${base}/courses/${e(courseId)}?user=${e(userId)}`,
    gradebookPage: (courseId) => `${base}/courses/${e(courseId)}/gradebook`,
    launch: (linkId, userId, target = 'iframe') =>
      `${base}/launch?link=${e(linkId)}&user=${e(userId)}&target=${target}`,
    deepLinkingStart: (courseId, userId, clientId, target = 'iframe') =>
      `${base}/deep-linking/start?course=${e(courseId)}&user=${e(userId)}&tool=${e(clientId)}&target=${target}`,
    registrationStart: (url) => `${base}/registration/start?url=${e(url)}`,
  };
}

export type ServiceName = 'token' | 'ags' | 'nrps';

/** A simulated outage of the platform's services (the tool's retry outbox is tested against it). */
export interface Outage {
  status: number;
  /** Requests still to refuse; Infinity until `recover()`. */
  remaining: number;
  services: ServiceName[];
  retryAfterSeconds?: number;
  /** Close the connection without an answer instead of answering `status`. */
  drop?: boolean;
}

/**
 * A one-shot change to the next id_token, for the tool's refusal tests
 * (certification-style bad tokens): claims set or removed, another kid, a
 * signature by a key the platform does not publish.
 */
export interface IdTokenTamper {
  set?: Record<string, unknown>;
  omit?: string[];
  /** Header kid; `null` leaves it out. */
  kid?: string | null;
  /** Sign with a key that is not in the platform's JWKS. */
  foreignKey?: boolean;
}

export interface PlatformContext {
  store: PlatformStore;
  keys: PlatformKeys;
  toolKeys: ToolKeys;
  urls: PlatformUrls;
  options: Required<Omit<PlatformOptions, 'issuer'>> & { issuer: string };
  outage: Outage | null;
  /** Requests refused because of an outage, per service. */
  refusedByOutage: Record<ServiceName, number>;
  tampers: IdTokenTamper[];
  /** Changes to the deep_linking_settings of the next deep linking launches (e.g. accept_multiple: false). */
  deepLinkingOverrides: Partial<DeepLinkingSettings>;
  /** Course pages rendered while set answer lti.get_data of a `state_` key with this value (a wrong state). */
  platformStorageTamper: { getDataValue: string } | null;
  /** Course pages rendered while set have no Platform Storage responder (they still send lti_storage_target). */
  platformStorageSilent: boolean;
}
