/**
 * @file Platform registrations. ltijs keeps the platform (issuer, client id,
 * endpoints, JWKS URL) and the tool's key pair for it; our store keeps its
 * deployments, which ltijs does not know. Manual registration (CLI, admin
 * API) and dynamic registration (LTI Dynamic Registration 1.0 as Moodle and
 * Canvas run it) both end here.
 *
 * Keys: ltijs makes one RSA key pair per registration; /lti/keys serves
 * every public key by kid. Rotation: register the platform again under a
 * new client id (or delete and re-register it): the new registration gets a
 * new kid, the old key disappears from the JWKS when its registration is
 * deleted.
 */
import { z } from 'zod';
import { badRequest } from '../server/errors.js';
import type { Store } from '../server/store/store.js';
import { Ltijs, ltijsEncryptionKey } from './ltijs.js';

export const platformInput = z.strictObject({
  issuer: z.url({ error: 'issuer: expected the platform issuer URL' }),
  clientId: z.string().min(1, 'clientId: required').max(255),
  authUrl: z.url({ error: 'authUrl: expected the OIDC authorization endpoint URL' }),
  tokenUrl: z.url({ error: 'tokenUrl: expected the OAuth2 token endpoint URL' }),
  jwksUrl: z.url({ error: 'jwksUrl: expected the platform JWKS URL' }),
  deploymentIds: z.array(z.string().min(1).max(255)).min(1, 'deploymentIds: at least one deployment id'),
  name: z.string().min(1).max(200).optional(),
  /** `aud` of the client assertion when it is not the token URL (some platforms). */
  authorizationServer: z.url().optional(),
});
export type PlatformInput = z.infer<typeof platformInput>;

export interface PlatformView {
  issuer: string;
  clientId: string;
  name: string;
  authUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  kid: string;
  active: boolean;
  deploymentIds: string[];
}

export class Registrations {
  constructor(
    private readonly ltijs: Ltijs,
    private readonly store: Store,
  ) {}

  /** Registers (or updates) a platform and adds its deployments; idempotent. */
  async register(input: PlatformInput, opts: { active?: boolean } = {}): Promise<PlatformView> {
    const parsed = platformInput.safeParse(input);
    if (!parsed.success) {
      throw badRequest(
        'invalid platform registration',
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    const p = parsed.data;
    const platform = await this.ltijs.registerPlatform({
      url: p.issuer,
      name: p.name ?? new URL(p.issuer).host,
      clientId: p.clientId,
      authenticationEndpoint: p.authUrl,
      accesstokenEndpoint: p.tokenUrl,
      authConfig: { method: 'JWK_SET', key: p.jwksUrl },
      ...(p.authorizationServer ? { authorizationServer: p.authorizationServer } : {}),
    });
    if (opts.active !== undefined) await platform.platformActive(opts.active);
    for (const deploymentId of p.deploymentIds) {
      await this.store.platforms.addDeployment({ issuer: p.issuer, clientId: p.clientId, deploymentId });
    }
    return (await this.get(p.issuer, p.clientId))!;
  }

  async setActive(issuer: string, clientId: string, active: boolean): Promise<PlatformView | undefined> {
    const platform = await this.ltijs.platform(issuer, clientId);
    if (!platform) return undefined;
    await platform.platformActive(active);
    return this.get(issuer, clientId);
  }

  async get(issuer: string, clientId: string): Promise<PlatformView | undefined> {
    const platform = await this.ltijs.platform(issuer, clientId);
    return platform ? this.view(platform) : undefined;
  }

  async list(): Promise<PlatformView[]> {
    return Promise.all((await this.ltijs.allPlatforms()).map((p) => this.view(p)));
  }

  async remove(issuer: string, clientId: string): Promise<boolean> {
    for (const d of await this.store.platforms.deployments(issuer, clientId))
      await this.store.platforms.removeDeployment(d);
    return this.ltijs.deletePlatform(issuer, clientId);
  }

  private async view(p: Awaited<ReturnType<Ltijs['allPlatforms']>>[number]): Promise<PlatformView> {
    const issuer = await p.platformUrl();
    const clientId = await p.platformClientId();
    return {
      issuer,
      clientId,
      name: await p.platformName(),
      authUrl: await p.platformAuthEndpoint(),
      tokenUrl: await p.platformAccessTokenEndpoint(),
      jwksUrl: (await p.platformAuthConfig()).key,
      kid: await p.platformKid(),
      active: await p.platformActive(),
      deploymentIds: (await this.store.platforms.deployments(issuer, clientId)).map((d) => d.deploymentId),
    };
  }
}

/**
 * Registrations without the web app (the admin CLI): starts ltijs on the
 * database just for `work`. Not while a server runs in the same process.
 */
export async function withRegistrations<T>(
  store: Store,
  mongodbUri: string,
  secretKey: Buffer,
  work: (r: Registrations) => Promise<T>,
): Promise<T> {
  const unused = async () => undefined;
  const ltijs = await Ltijs.start({
    encryptionKey: ltijsEncryptionKey(secretKey),
    mongodbUri,
    tokenMaxAge: 10,
    before: () => undefined,
    onLaunch: unused,
    onDeepLinking: unused,
    onInvalidToken: unused,
    onUnregisteredPlatform: unused,
    onInactivePlatform: unused,
  });
  try {
    return await work(new Registrations(ltijs, store));
  } finally {
    await ltijs.close();
  }
}
