/**
 * @file The only module that touches ltijs (5.9.9). It gives the rest of
 * lti/ a typed view of the few parts we use and fixes its defaults for us:
 *
 * - ltijs is a CommonJS singleton on Express 4 (its own copy) and mongoose 7
 *   (its own copy, on the *global* mongoose connection of that copy): one
 *   ltijs per process. We build a fresh Provider from the singleton's class
 *   so a process can set it up again after close() (tests restart servers).
 * - `ltiaas: true`: no platform session cookie, the ltik alone authenticates,
 *   and a verified launch reaches our handler in the same request.
 * - `devMode: true`: the OIDC state cookie becomes optional. Cookies are
 *   unreliable in LMS iframes, so lti/launch-state.ts checks the state
 *   server-side instead (single use, issuer, client, target_link_uri, nonce).
 *   A state cookie that is present is still checked by ltijs.
 * - deploy() of ltijs adds a SIGINT handler that exits the process and exits
 *   on a database error; we call its Database.setup() directly instead.
 */
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import type { RequestHandler } from 'express';

/** The subset of ltijs's Platform object we use (all getters are async in ltijs). */
export interface LtijsPlatform {
  platformUrl(): Promise<string>;
  platformClientId(): Promise<string>;
  platformName(): Promise<string>;
  platformKid(): Promise<string>;
  platformAuthEndpoint(): Promise<string>;
  platformAccessTokenEndpoint(): Promise<string>;
  platformAuthorizationServer(): Promise<string>;
  platformAuthConfig(): Promise<{ method: string; key: string }>;
  platformPrivateKey(): Promise<string>;
  platformPublicKey(): Promise<string>;
  platformActive(active?: boolean): Promise<boolean>;
  remove(): Promise<boolean>;
}

/** What ltijs puts in res.locals.token (the stored launch) on a verified launch or ltik. */
export interface LtijsToken {
  iss: string;
  user: string;
  clientId: string;
  deploymentId: string;
  platformId: string;
  userInfo?: { name?: string; given_name?: string; family_name?: string; email?: string };
  platformContext: {
    contextId: string;
    roles?: string[];
    targetLinkUri?: string;
    messageType?: string;
    context?: { id: string; label?: string; title?: string };
    resource?: { id: string; title?: string };
    custom?: Record<string, string>;
    deepLinkingSettings?: Record<string, unknown>;
    endpoint?: { lineitem?: string; lineitems?: string; scope?: string[] };
    namesRoles?: { context_memberships_url?: string };
    launchPresentation?: { document_target?: string; return_url?: string };
  };
}

export interface PlatformInput {
  url: string;
  name: string;
  clientId: string;
  authenticationEndpoint: string;
  accesstokenEndpoint: string;
  authConfig: { method: 'JWK_SET'; key: string };
}

type ExpressApp = RequestHandler & {
  use(...handlers: unknown[]): void;
  all(path: string, ...handlers: unknown[]): void;
  post(path: string, ...handlers: unknown[]): void;
  get(path: string, ...handlers: unknown[]): void;
};

// biome-ignore lint/suspicious/noExplicitAny: ltijs ships no types; this file is the typed boundary.
type Untyped = any;

interface ProviderInstance {
  app: ExpressApp;
  Database: {
    setup(): Promise<boolean>;
    Close(): Promise<boolean>;
    Delete(collection: string, query: Record<string, unknown>): Promise<boolean>;
  };
  DeepLinking: {
    createDeepLinkingForm(token: LtijsToken, items: unknown[], opts?: { message?: string }): Promise<string>;
  };
  setup(key: string, db: Untyped, options: Untyped): ProviderInstance;
  onConnect(cb: Untyped): void;
  onDeepLinking(cb: Untyped): void;
  onInvalidToken(cb: Untyped): void;
  onSessionTimeout(cb: Untyped): void;
  onUnregisteredPlatform(cb: Untyped): void;
  onInactivePlatform(cb: Untyped): void;
  registerPlatform(p: PlatformInput): Promise<LtijsPlatform>;
  getPlatform(url: string, clientId?: string): Promise<LtijsPlatform | LtijsPlatform[] | false>;
  getAllPlatforms(): Promise<LtijsPlatform[]>;
  deletePlatform(url: string, clientId: string): Promise<boolean>;
}

const require = createRequire(import.meta.url);

/** What the handlers receive: Express 4 req/res of the ltijs sub-app. */
// biome-ignore lint/suspicious/noExplicitAny: Express 4 objects of ltijs's own express copy.
export type Ltijs4Request = any;
// biome-ignore lint/suspicious/noExplicitAny: Express 4 objects of ltijs's own express copy.
export type Ltijs4Response = any;
export type LaunchCallback = (token: LtijsToken, req: Ltijs4Request, res: Ltijs4Response) => Promise<unknown>;
export type ErrorCallback = (req: Ltijs4Request, res: Ltijs4Response) => Promise<unknown>;

export interface LtijsOptions {
  /** Secret for ltiks and ltijs's encrypted keys. */
  encryptionKey: string;
  mongodbUri: string;
  /** Seconds an id_token's iat may be old. */
  tokenMaxAge: number;
  /** Runs first on every request of the sub-app, after ltijs's body and cookie parsers. */
  before: (app: ExpressApp) => void;
  onLaunch: LaunchCallback;
  onDeepLinking: LaunchCallback;
  onInvalidToken: ErrorCallback;
  onUnregisteredPlatform: ErrorCallback;
  onInactivePlatform: ErrorCallback;
}

let inUse = false;

/** ltijs's secret (ltik signatures, its encrypted key pairs), derived from the server's secret key. */
export const ltijsEncryptionKey = (secretKey: Buffer) => createHmac('sha256', secretKey).update('ltijs').digest('hex');

/**
 * ltijs's indexes except its TTL ones: FerretDB 1.x refuses `expireAfterSeconds`
 * ("not implemented yet"), which would fail mongoose's automatic index build;
 * so that build is off and this makes the unique and lookup indexes. Expiry
 * is Ltijs.sweep()'s job, on MongoDB too (same code everywhere).
 */
async function createIndexesWithoutTtl(): Promise<void> {
  // ltijs's own mongoose copy (7.x), not ours (9.x).
  const mongoose = createRequire(require.resolve('ltijs'))('mongoose') as {
    modelNames(): string[];
    model(name: string): {
      schema: { indexes(): Array<[Record<string, unknown>, Record<string, unknown> | undefined]> };
      collection: { createIndex(fields: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown> };
    };
  };
  for (const name of mongoose.modelNames()) {
    const model = mongoose.model(name);
    for (const [fields, options = {}] of model.schema.indexes()) {
      if ('expireAfterSeconds' in options || 'expires' in options) continue;
      await model.collection.createIndex(fields, options);
    }
  }
}

/** ltijs, set up and connected. One per process at a time. */
export class Ltijs {
  private constructor(private readonly p: ProviderInstance) {}

  static async start(o: LtijsOptions): Promise<Ltijs> {
    if (inUse) throw new Error('ltijs is already running in this process (it keeps global state): close it first');
    const singleton = require('ltijs').Provider as ProviderInstance;
    const ProviderClass = singleton.constructor as new () => ProviderInstance;
    const p = new ProviderClass();
    p.setup(
      o.encryptionKey,
      // ltijs's own mongoose 7, configured explicitly: no automatic index build (its TTL indexes fail
      // on FerretDB 1.x); createIndexesWithoutTtl() makes the others, sweep() expires records.
      // maxPoolSize 1: FerretDB 1.x loses concurrent updates of one document (server/store/store.ts).
      { url: o.mongodbUri, connection: { serverSelectionTimeoutMS: 5000, autoIndex: false, maxPoolSize: 1 } },
      {
        appRoute: '/',
        loginRoute: '/login',
        keysetRoute: '/keys',
        dynRegRoute: '/register-ltijs',
        devMode: true,
        ltiaas: true,
        cors: false,
        tokenMaxAge: o.tokenMaxAge,
        serverAddon: o.before,
      },
    );
    p.onConnect(o.onLaunch);
    p.onDeepLinking(o.onDeepLinking);
    p.onInvalidToken(o.onInvalidToken);
    p.onSessionTimeout(o.onInvalidToken);
    p.onUnregisteredPlatform(o.onUnregisteredPlatform);
    p.onInactivePlatform(o.onInactivePlatform);
    inUse = true;
    try {
      await p.Database.setup();
      await createIndexesWithoutTtl();
    } catch (err) {
      inUse = false;
      await p.Database.Close().catch(() => undefined);
      throw err;
    }
    return new Ltijs(p);
  }

  /** The Express 4 app of ltijs, to mount as a sub-app. */
  get app(): ExpressApp {
    return this.p.app;
  }

  registerPlatform(input: PlatformInput): Promise<LtijsPlatform> {
    return this.p.registerPlatform(input);
  }

  async platform(issuer: string, clientId: string): Promise<LtijsPlatform | undefined> {
    const found = await this.p.getPlatform(issuer, clientId);
    return found && !Array.isArray(found) ? found : undefined;
  }

  allPlatforms(): Promise<LtijsPlatform[]> {
    return this.p.getAllPlatforms();
  }

  deletePlatform(issuer: string, clientId: string): Promise<boolean> {
    return this.p.deletePlatform(issuer, clientId);
  }

  deepLinkingForm(token: LtijsToken, items: unknown[], message: string): Promise<string> {
    return this.p.DeepLinking.createDeepLinkingForm(token, items, { message });
  }

  /** Deletes ltijs records older than the given ages (what its TTL indexes would do on MongoDB). */
  async sweep(now = Date.now()): Promise<void> {
    const older = (seconds: number) => ({ createdAt: { $lt: new Date(now - seconds * 1000) } });
    // Nonces: ltijs's TTL is 10 s; a token older than tokenMaxAge is refused anyway, so 10 min is safe.
    await this.p.Database.Delete('nonce', older(600));
    await this.p.Database.Delete('state', older(600));
    await this.p.Database.Delete('idtoken', older(24 * 3600));
    await this.p.Database.Delete('contexttoken', older(24 * 3600));
    await this.p.Database.Delete('accesstoken', older(3600));
  }

  async close(): Promise<void> {
    try {
      await this.p.Database.Close();
    } finally {
      inUse = false;
    }
  }
}
