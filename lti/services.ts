/**
 * @file Our client of the platform's services (AGS scores, NRPS members),
 * used instead of ltijs's Grade and NamesAndRoles services because the
 * outbox needs what those hide: the HTTP status of a refusal (retry on 5xx
 * and network errors, give up on 4xx), `Retry-After`, a fresh access token
 * when the platform revoked ours (401), a `User-Agent` (Canvas refuses
 * requests without one), and no launch token (the outbox sends long after
 * the launch). The client-credentials assertion is signed with the key
 * ltijs keeps for that platform registration, so its JWKS stays the one
 * truth.
 */
import { createPrivateKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Ltijs } from './ltijs.js';

const USER_AGENT = 'lab-orchestrator (LTI 1.3 tool)';

/** A failed service call: the status (0 for a network error) decides whether to retry. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500 || this.status === 401;
  }
}

export interface Score {
  userId: string;
  scoreGiven: number;
  scoreMaximum: number;
  activityProgress: string;
  gradingProgress: string;
  timestamp: string;
}

export interface Member {
  user_id: string;
  status?: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  email?: string;
  roles: string[];
}

export class PlatformServices {
  private readonly tokens = new Map<string, { token: string; until: number }>();

  constructor(
    private readonly ltijs: Ltijs,
    private readonly timeoutMs = 10_000,
  ) {}

  async postScore(issuer: string, clientId: string, lineItemUrl: string, score: Score): Promise<void> {
    const url = new URL(lineItemUrl);
    url.pathname = `${url.pathname.replace(/\/$/, '')}/scores`;
    await this.call(issuer, clientId, ['https://purl.imsglobal.org/spec/lti-ags/scope/score'], url.href, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.ims.lis.v1.score+json' },
      body: JSON.stringify(score),
    });
  }

  /** All members of a course (follows `Link: rel="next"`). */
  async members(issuer: string, clientId: string, membershipsUrl: string): Promise<Member[]> {
    const members: Member[] = [];
    let next: string | undefined = membershipsUrl;
    for (let page = 0; next && page < 100; page++) {
      const res = await this.call(
        issuer,
        clientId,
        ['https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly'],
        next,
        { method: 'GET', headers: { accept: 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json' } },
      );
      const body = (await res.json()) as { members?: Member[] };
      members.push(...(body.members ?? []));
      next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    }
    return members;
  }

  private async call(issuer: string, clientId: string, scopes: string[], url: string, init: RequestInit) {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token(issuer, clientId, scopes);
      const res = await this.fetch(url, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
      });
      if (res.ok) return res;
      if (res.status === 401 && attempt === 0) {
        // The platform may have revoked the token before its time: one more try with a new one.
        this.tokens.delete(cacheKey(issuer, clientId, scopes));
        continue;
      }
      throw await errorOf(res, `${init.method} ${url}`);
    }
  }

  private async token(issuer: string, clientId: string, scopes: string[]): Promise<string> {
    const key = cacheKey(issuer, clientId, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.until > Date.now()) return cached.token;
    const platform = await this.ltijs.platform(issuer, clientId);
    if (!platform) throw new ServiceError(400, `platform ${issuer} (client ${clientId}) is not registered`);
    const tokenUrl = await platform.platformAccessTokenEndpoint();
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: await platform.platformKid() })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(await platform.platformAuthorizationServer())
      .setIssuedAt()
      .setExpirationTime('60s')
      .setJti(randomUUID())
      .sign(createPrivateKey(await platform.platformPrivateKey()));
    const res = await this.fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        scope: scopes.join(' '),
      }).toString(),
    });
    if (!res.ok) throw await errorOf(res, `token request to ${tokenUrl}`);
    const body = (await res.json()) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw new ServiceError(502, `the token endpoint ${tokenUrl} answered without access_token`);
    const lifetime = Math.max(0, (body.expires_in ?? 3600) - 30) * 1000;
    this.tokens.set(key, { token: body.access_token, until: Date.now() + lifetime });
    return body.access_token;
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        headers: { 'user-agent': USER_AGENT, ...(init.headers as Record<string, string>) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new ServiceError(0, `${init.method ?? 'GET'} ${url} failed: ${(err as Error).message}`);
    }
  }
}

const cacheKey = (issuer: string, clientId: string, scopes: string[]) => `${issuer} ${clientId} ${scopes.join(' ')}`;

async function errorOf(res: Response, what: string): Promise<ServiceError> {
  const text = (await res.text().catch(() => '')).slice(0, 300);
  const retryAfter = Number(res.headers.get('retry-after'));
  return new ServiceError(
    res.status,
    `${what} answered ${res.status}${text ? `: ${text}` : ''}`,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}
