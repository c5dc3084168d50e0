/**
 * @file The test platform (a fake LMS speaking LTI 1.3 / LTI Advantage):
 * `createPlatform` builds the Express app and a typed handle that tests use
 * to set up tools, courses, users and activities, read the gradebook and flip
 * failure switches; `startPlatform` also serves it on a loopback port.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { JSONWebKeySet } from 'jose';
import { agsRouter } from './ags.js';
import { authorizationRouter } from './authorization.js';
import {
  type IdTokenTamper,
  type PlatformContext,
  type PlatformOptions,
  type PlatformUrls,
  platformUrls,
  type ServiceName,
} from './context.js';
import { deepLinkingRouter } from './deepLinking.js';
import { errorHandler } from './errors.js';
import { PlatformKeys } from './keys.js';
import { launchRouter } from './launch.js';
import {
  type Course,
  type DeepLinkingSettings,
  type GradebookEntry,
  type LineItem,
  PlatformStore,
  type ResourceLink,
  type Tool,
  type User,
} from './model.js';
import { nrpsRouter } from './nrps.js';
import { pagesRouter } from './pages.js';
import { CANVAS_STORAGE_FRAME, PLATFORM_STORAGE_TARGET, platformStorageRouter } from './platformStorage.js';
import { openidConfiguration, registrationRouter, startRegistration } from './registration.js';
import { tokenRouter } from './token.js';
import { ToolKeys } from './toolKeys.js';
import { ALL_SCOPES, COURSE_ROLE_SHORT_NAMES, INSTITUTION_ROLE_SHORT_NAMES } from './vocabulary.js';

export interface ToolInput {
  clientId?: string;
  name?: string;
  deploymentIds?: string[];
  loginUrl: string;
  loginMethod?: 'POST' | 'GET';
  redirectUris: string[];
  /** Default: the first redirect URI. */
  targetLinkUri?: string;
  /** Default: targetLinkUri. */
  deepLinkingUrl?: string;
  jwksUrl?: string;
  keys?: JSONWebKeySet;
  /** Default: every AGS and NRPS scope. */
  scopes?: string[];
  privacy?: Partial<Tool['privacy']>;
  custom?: Record<string, string>;
  status?: Tool['status'];
}

export interface UserInput {
  id?: string;
  name?: string;
  givenName?: string;
  familyName?: string;
  email?: string;
  picture?: string;
  /** Institution roles: short names (Administrator, Student, Instructor) or full URIs. */
  roles?: string[];
}

export interface ResourceLinkInput {
  courseId: string;
  clientId: string;
  /** Default: the tool's first deployment. */
  deploymentId?: string;
  title: string;
  description?: string;
  url?: string;
  custom?: Record<string, string>;
  lineItem?: { scoreMaximum: number; label?: string; resourceId?: string; tag?: string };
}

export interface Platform {
  app: Express;
  urls: PlatformUrls;
  keys: PlatformKeys;
  /** Everything the platform recorded (read it; change it through the methods). */
  store: PlatformStore;
  registerTool(input: ToolInput): Tool;
  activateTool(clientId: string): void;
  addDeployment(clientId: string, deploymentId?: string): string;
  removeDeployment(clientId: string, deploymentId: string): void;
  addCourse(input: { id?: string; label?: string; title: string }): Course;
  addUser(input: UserInput): User;
  /** Course roles: short names (Learner, Instructor, Administrator, …) or full LIS URIs. */
  enrol(courseId: string, userId: string, roles: string | string[], status?: 'Active' | 'Inactive'): void;
  addResourceLink(input: ResourceLinkInput): ResourceLink;
  addLineItem(input: Omit<LineItem, 'id'> & { id?: string }): LineItem;
  /** The gradebook entry of a user on a line item. */
  grade(lineItemId: string, userId: string): GradebookEntry | undefined;
  lineItemsOf(resourceLinkId: string): LineItem[];
  /**
   * Makes token/AGS/NRPS answer `status` (default 503), or drop the
   * connection (`drop`), until `recoverServices()` or for `times` requests.
   */
  failServices(opts?: {
    status?: number;
    times?: number;
    services?: ServiceName[];
    retryAfterSeconds?: number;
    drop?: boolean;
  }): void;
  recoverServices(): void;
  refusedByOutage(): Readonly<Record<ServiceName, number>>;
  /** Changes the next id_token(s), in order, one per launch. */
  tamperNextIdToken(tamper: IdTokenTamper): void;
  /** Changes the deep_linking_settings of later deep linking launches. */
  setDeepLinkingSettings(settings: Partial<DeepLinkingSettings>): void;
  /** Makes every issued access token expired (the tool must fetch a new one). */
  expireAccessTokens(): void;
  /**
   * Course pages rendered from now on answer lti.get_data of a `state_…` key
   * with `value` instead of what the tool stored (`null`: honest again).
   */
  tamperPlatformStorage(value: string | null): void;
  /** Course pages rendered from now on do not answer Platform Storage messages (`false`: they do again). */
  silencePlatformStorage(silent: boolean): void;
  startRegistration(toolRegistrationUrl: string, opts?: { startPending?: boolean }): { url: string; token: string };
  openidConfiguration(): Record<string, unknown>;
}

export async function createPlatform(options: PlatformOptions): Promise<Platform> {
  const urls = platformUrls(options.baseUrl, options.issuer);
  const keys = new PlatformKeys();
  await keys.rotate();
  const store = new PlatformStore();
  const ctx: PlatformContext = {
    store,
    keys,
    toolKeys: new ToolKeys(),
    urls,
    options: {
      baseUrl: urls.base,
      issuer: urls.issuer,
      name: options.name ?? 'LTI test platform',
      idTokenLifetimeSeconds: options.idTokenLifetimeSeconds ?? 300,
      accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? 3600,
      launchHintLifetimeSeconds: options.launchHintLifetimeSeconds ?? 600,
      flavour: options.flavour ?? 'moodle',
      gradedProgress:
        options.gradedProgress ?? (options.flavour === 'canvas' ? ['FullyGraded', 'PendingManual'] : ['FullyGraded']),
      requireTokenForConfiguration: options.requireTokenForConfiguration ?? true,
      storageTarget:
        options.storageTarget ?? (options.flavour === 'canvas' ? CANVAS_STORAGE_FRAME : PLATFORM_STORAGE_TARGET),
    },
    outage: null,
    refusedByOutage: { token: 0, ags: 0, nrps: 0 },
    tampers: [],
    deepLinkingOverrides: {},
    platformStorageTamper: null,
    platformStorageSilent: false,
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json({ type: ['application/json', 'application/*+json'] }));
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(keys.jwks());
  });
  for (const router of [
    launchRouter,
    authorizationRouter,
    tokenRouter,
    agsRouter,
    nrpsRouter,
    deepLinkingRouter,
    registrationRouter,
    pagesRouter,
    platformStorageRouter,
  ]) {
    app.use(router(ctx));
  }
  app.use(errorHandler);

  const toolOf = (clientId: string): Tool => {
    const tool = store.tools.get(clientId);
    if (!tool) throw new Error(`no tool with client_id ${clientId}`);
    return tool;
  };

  const platform: Platform = {
    app,
    urls,
    keys,
    store,
    registerTool(input) {
      if (!URL.canParse(input.loginUrl)) throw new Error(`loginUrl: ${input.loginUrl} is not a URL`);
      if (input.redirectUris.length === 0 || !input.redirectUris.every((u) => URL.canParse(u))) {
        throw new Error('redirectUris: at least one, all URLs');
      }
      if (!input.jwksUrl && !input.keys) throw new Error('jwksUrl or keys: the tool needs one to be verified');
      const targetLinkUri = input.targetLinkUri ?? input.redirectUris[0]!;
      const tool: Tool = {
        clientId: input.clientId ?? randomUUID(),
        name: input.name ?? 'Tool',
        deploymentIds: input.deploymentIds ?? [randomUUID()],
        loginUrl: input.loginUrl,
        loginMethod: input.loginMethod ?? 'POST',
        redirectUris: input.redirectUris,
        targetLinkUri,
        deepLinkingUrl: input.deepLinkingUrl ?? targetLinkUri,
        jwksUrl: input.jwksUrl,
        keys: input.keys,
        scopes: input.scopes ?? [...ALL_SCOPES],
        privacy: { name: input.privacy?.name ?? true, email: input.privacy?.email ?? true },
        custom: input.custom ?? {},
        status: input.status ?? 'active',
      };
      if (store.tools.has(tool.clientId)) throw new Error(`clientId: ${tool.clientId} is already registered`);
      store.tools.set(tool.clientId, tool);
      return tool;
    },
    activateTool(clientId) {
      toolOf(clientId).status = 'active';
    },
    addDeployment(clientId, deploymentId = randomUUID()) {
      toolOf(clientId).deploymentIds.push(deploymentId);
      return deploymentId;
    },
    removeDeployment(clientId, deploymentId) {
      const tool = toolOf(clientId);
      tool.deploymentIds = tool.deploymentIds.filter((d) => d !== deploymentId);
    },
    addCourse(input) {
      const id = input.id ?? store.nextId('course');
      if (store.courses.has(id)) throw new Error(`id: course ${id} already exists`);
      const course: Course = { id, label: input.label ?? id, title: input.title };
      store.courses.set(id, course);
      return course;
    },
    addUser(input) {
      const id = input.id ?? store.nextId('user');
      if (store.users.has(id)) throw new Error(`id: user ${id} already exists`);
      const user: User = {
        ...input,
        id,
        roles: (input.roles ?? []).map((r) => roleUri(r, INSTITUTION_ROLE_SHORT_NAMES)),
      };
      store.users.set(id, user);
      return user;
    },
    enrol(courseId, userId, roles, status = 'Active') {
      if (!store.courses.has(courseId)) throw new Error(`courseId: no course ${courseId}`);
      if (!store.users.has(userId)) throw new Error(`userId: no user ${userId}`);
      const list = (Array.isArray(roles) ? roles : [roles]).map((r) => roleUri(r, COURSE_ROLE_SHORT_NAMES));
      store.memberships.set(`${courseId}\n${userId}`, { courseId, userId, roles: list, status });
    },
    addResourceLink(input) {
      const tool = toolOf(input.clientId);
      if (!store.courses.has(input.courseId)) throw new Error(`courseId: no course ${input.courseId}`);
      const deploymentId = input.deploymentId ?? tool.deploymentIds[0];
      if (!deploymentId || !tool.deploymentIds.includes(deploymentId))
        throw new Error(`deploymentId: ${deploymentId} is not a deployment of ${tool.clientId}`);
      const link: ResourceLink = {
        id: store.nextId('link'),
        courseId: input.courseId,
        clientId: tool.clientId,
        deploymentId,
        title: input.title,
        description: input.description,
        url: input.url,
        custom: input.custom ?? {},
        createdBy: 'api',
      };
      store.resourceLinks.set(link.id, link);
      if (input.lineItem) {
        platform.addLineItem({
          ...input.lineItem,
          label: input.lineItem.label ?? input.title,
          courseId: link.courseId,
          clientId: link.clientId,
          resourceLinkId: link.id,
        });
      }
      return link;
    },
    addLineItem(input) {
      if (!(input.scoreMaximum > 0)) throw new Error('scoreMaximum: must be a positive number');
      const item: LineItem = { ...input, id: input.id ?? store.nextId('lineitem') };
      store.lineItems.set(item.id, item);
      return item;
    },
    grade: (lineItemId, userId) => store.gradebookEntry(lineItemId, userId),
    lineItemsOf: (resourceLinkId) => store.lineItemsOfLink(resourceLinkId),
    failServices(opts = {}) {
      ctx.outage = {
        status: opts.status ?? 503,
        remaining: opts.times ?? Number.POSITIVE_INFINITY,
        services: opts.services ?? ['token', 'ags', 'nrps'],
        retryAfterSeconds: opts.retryAfterSeconds,
        drop: opts.drop,
      };
    },
    recoverServices() {
      ctx.outage = null;
    },
    refusedByOutage: () => ({ ...ctx.refusedByOutage }),
    tamperNextIdToken(tamper) {
      ctx.tampers.push(tamper);
    },
    setDeepLinkingSettings(settings) {
      ctx.deepLinkingOverrides = { ...ctx.deepLinkingOverrides, ...settings };
    },
    expireAccessTokens() {
      for (const token of store.accessTokens.values()) token.expiresAt = 0;
    },
    tamperPlatformStorage(value) {
      ctx.platformStorageTamper = value === null ? null : { getDataValue: value };
    },
    silencePlatformStorage(silent) {
      ctx.platformStorageSilent = silent;
    },
    startRegistration: (url, opts) => startRegistration(ctx, url, opts),
    openidConfiguration: () => openidConfiguration(ctx),
  };
  return platform;
}

function roleUri(role: string, shortNames: Record<string, string>): string {
  const uri = shortNames[role] ?? role;
  if (!/^https?:\/\//.test(uri))
    throw new Error(
      `roles: ${role} is neither a known short name (${Object.keys(shortNames).join(', ')}) nor a role URI`,
    );
  return uri;
}

export interface RunningPlatform {
  platform: Platform;
  url: string;
  close(): Promise<void>;
}

/** Creates the platform and serves it on `host:port` (default 127.0.0.1 and a free port). */
export async function startPlatform(
  options: Omit<PlatformOptions, 'baseUrl'> & { port?: number; host?: string } = {},
): Promise<RunningPlatform> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const platform = await createPlatform({ ...options, baseUrl: url });
  server.on('request', platform.app);
  return {
    platform,
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
