/**
 * @file What the test platform knows and records: tools, courses, users,
 * memberships, resource links, line items, the gradebook, and logs of what
 * tools sent. Plain in-memory records; tests read them through the handle.
 */
import type { JSONWebKeySet } from 'jose';
import type { ActivityProgress, GradingProgress, LaunchMessageType } from './vocabulary.js';

export type DocumentTarget = 'iframe' | 'window';

export interface Tool {
  clientId: string;
  name: string;
  deploymentIds: string[];
  /** The tool's OIDC login initiation URL (initiate_login_uri). */
  loginUrl: string;
  /** How the platform sends the browser to `loginUrl`: an auto-submitted form (POST) or a redirect (GET). */
  loginMethod: 'POST' | 'GET';
  /** Exact redirect_uri values the authorization endpoint accepts. */
  redirectUris: string[];
  /** Default target_link_uri of resource link launches. */
  targetLinkUri: string;
  /** target_link_uri of deep linking launches. */
  deepLinkingUrl: string;
  jwksUrl?: string;
  keys?: JSONWebKeySet;
  /** Service scopes the tool may be granted at the token endpoint. */
  scopes: string[];
  /** Send the user's names / email in launches and NRPS. */
  privacy: { name: boolean; email: boolean };
  /** Custom parameters sent with every launch of this tool. */
  custom: Record<string, string>;
  /** A dynamically registered tool may start pending (Moodle): it cannot be launched until activated. */
  status: 'active' | 'pending';
}

export interface Course {
  id: string;
  label: string;
  title: string;
}

export interface User {
  id: string;
  name?: string;
  givenName?: string;
  familyName?: string;
  email?: string;
  picture?: string;
  /** Institution / system role URIs, sent in every launch. */
  roles: string[];
}

export interface Membership {
  courseId: string;
  userId: string;
  roles: string[];
  status: 'Active' | 'Inactive';
}

export interface ResourceLink {
  id: string;
  courseId: string;
  clientId: string;
  deploymentId: string;
  title: string;
  description?: string;
  /** target_link_uri for this link; the tool's default when absent. */
  url?: string;
  custom: Record<string, string>;
  createdBy: 'api' | 'deep-linking';
}

export interface LineItem {
  id: string;
  courseId: string;
  /** The tool that owns it: only that tool sees it through AGS. */
  clientId: string;
  label: string;
  scoreMaximum: number;
  resourceId?: string;
  tag?: string;
  resourceLinkId?: string;
  startDateTime?: string;
  endDateTime?: string;
  gradesReleased?: boolean;
}

/** The score body of AGS 2.0 §3.4, as accepted. */
export interface Score {
  userId: string;
  scoreGiven?: number;
  scoreMaximum?: number;
  comment?: string;
  timestamp: string;
  activityProgress: ActivityProgress;
  gradingProgress: GradingProgress;
  submission?: { startedAt?: string; submittedAt?: string };
}

/** One cell of the gradebook: the latest accepted score of a user on a line item. */
export interface GradebookEntry {
  lineItemId: string;
  userId: string;
  /** The grade on the line item's scale (scoreGiven rescaled to the item's scoreMaximum), or null when none is recorded. */
  grade: number | null;
  score: Score;
  /** The score's timestamp in ms: the next score must not be older (Canvas), nor in the same second (Moodle). */
  timestampMs: number;
}

/** Every POST to a scores endpoint, accepted or not. */
export interface ScoreAttempt {
  lineItemId: string;
  receivedAt: Date;
  body: unknown;
  status: number;
  error?: string;
}

/** What the platform remembers between the start of a launch and its authorization request. */
export interface LaunchHint {
  id: string;
  clientId: string;
  deploymentId: string;
  userId: string;
  courseId: string;
  messageType: LaunchMessageType;
  resourceLinkId?: string;
  deepLinkingSessionId?: string;
  targetLinkUri: string;
  documentTarget: DocumentTarget;
  expiresAt: number;
}

/** The deep_linking_settings claim (Deep Linking 2.0 §4.4.1). */
export interface DeepLinkingSettings {
  deep_link_return_url: string;
  accept_types: string[];
  accept_presentation_document_targets: string[];
  accept_media_types?: string;
  accept_multiple: boolean;
  accept_lineitem: boolean;
  auto_create: boolean;
  title?: string;
  text?: string;
  data?: string;
}

export interface DeepLinkingSession {
  id: string;
  clientId: string;
  deploymentId: string;
  courseId: string;
  userId: string;
  settings: DeepLinkingSettings;
  returnedAt?: Date;
}

export interface DeepLinkingReturn {
  sessionId: string;
  receivedAt: Date;
  payload: Record<string, unknown>;
  createdLinks: ResourceLink[];
  createdLineItems: LineItem[];
  msg?: string;
  errormsg?: string;
}

/** An authorization request as the tool sent it, and what became of it. */
export interface AuthRequestRecord {
  receivedAt: Date;
  params: Record<string, string | undefined>;
  outcome: 'id_token' | 'refused';
  /** The error form-posted back, when there was one (an error page leaves it unset). */
  error?: string;
}

export interface IssuedIdToken {
  hintId: string;
  redirectUri: string;
  state?: string;
  token: string;
  payload: Record<string, unknown>;
}

export interface AccessToken {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

export interface RegistrationToken {
  token: string;
  expiresAt: number;
  used: boolean;
  /** Registered tools start pending when true (Moodle); active otherwise (Canvas after the admin's confirmation). */
  startPending: boolean;
}

export interface Registration {
  receivedAt: Date;
  request: Record<string, unknown>;
  response: Record<string, unknown>;
  clientId: string;
  deploymentId: string;
}

/** A Platform Storage postMessage the course page answered (reported by its script). */
export interface PlatformStorageMessage {
  at: Date;
  /** The user whose course page answered. */
  viewer: string;
  subject: string;
  /** The sender's origin (the tool's). */
  origin: string;
  key?: string;
  outcome: 'answered' | 'stored' | 'found' | 'missing' | 'tampered' | 'refused' | 'error';
}

/** The platform's state; maps keyed by id. */
export class PlatformStore {
  readonly tools = new Map<string, Tool>();
  readonly courses = new Map<string, Course>();
  readonly users = new Map<string, User>();
  /** Keyed by `${courseId}\n${userId}`. */
  readonly memberships = new Map<string, Membership>();
  readonly resourceLinks = new Map<string, ResourceLink>();
  readonly lineItems = new Map<string, LineItem>();
  /** Keyed by `${lineItemId}\n${userId}`. */
  readonly gradebook = new Map<string, GradebookEntry>();
  readonly scoreAttempts: ScoreAttempt[] = [];
  readonly launchHints = new Map<string, LaunchHint>();
  readonly deepLinkingSessions = new Map<string, DeepLinkingSession>();
  readonly deepLinkingReturns: DeepLinkingReturn[] = [];
  readonly authRequests: AuthRequestRecord[] = [];
  readonly idTokens: IssuedIdToken[] = [];
  readonly accessTokens = new Map<string, AccessToken>();
  /** Client assertion `jti` values already used, with their expiry (ms). */
  readonly usedAssertionIds = new Map<string, number>();
  /** Deep linking response nonces already used, per tool. */
  readonly usedResponseNonces = new Set<string>();
  readonly registrationTokens = new Map<string, RegistrationToken>();
  readonly registrations: Registration[] = [];
  readonly platformStorageMessages: PlatformStorageMessage[] = [];

  private counter = 0;
  /** Short readable ids: `course-3`, `link-7`. */
  nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${this.counter}`;
  }

  membership(courseId: string, userId: string): Membership | undefined {
    return this.memberships.get(`${courseId}\n${userId}`);
  }

  membersOf(courseId: string): Membership[] {
    return [...this.memberships.values()].filter((m) => m.courseId === courseId);
  }

  gradebookEntry(lineItemId: string, userId: string): GradebookEntry | undefined {
    return this.gradebook.get(`${lineItemId}\n${userId}`);
  }

  lineItemsOfLink(resourceLinkId: string): LineItem[] {
    return [...this.lineItems.values()].filter((l) => l.resourceLinkId === resourceLinkId);
  }
}
