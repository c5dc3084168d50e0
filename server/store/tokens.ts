import { LRUCache } from 'lru-cache';
import type { Models } from './models.js';

/**
 * How long a live token found by its hash is believed without asking the
 * database again. Every API call authenticates, and a token lookup is a
 * scan on FerretDB (it uses no index but _id): 200 learners polling made it
 * the bottleneck. A revocation here takes effect at once; one made through
 * another replica (or the CLI) within this time.
 */
export const LIVE_TOKEN_CACHE_MS = 5000;

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt?: Date;
  expiresAt?: Date;
  revokedAt?: Date;
}

type TokenLean = {
  _id: { toString(): string };
  userId: { toString(): string };
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt?: Date | null;
  expiresAt?: Date | null;
  revokedAt?: Date | null;
};
const toToken = (d: TokenLean): ApiToken => ({
  id: d._id.toString(),
  userId: d.userId.toString(),
  name: d.name,
  prefix: d.prefix,
  createdAt: d.createdAt,
  ...(d.lastUsedAt ? { lastUsedAt: d.lastUsedAt } : {}),
  ...(d.expiresAt ? { expiresAt: d.expiresAt } : {}),
  ...(d.revokedAt ? { revokedAt: d.revokedAt } : {}),
});

/** API tokens: only their sha256 is stored. */
export class TokenRepository {
  private readonly live = new LRUCache<string, ApiToken & { lastUsedAt: Date }>({
    max: 10_000,
    ttl: LIVE_TOKEN_CACHE_MS,
  });

  constructor(private readonly m: Models) {}

  async create(t: { userId: string; name: string; hash: string; prefix: string; expiresAt?: Date }): Promise<ApiToken> {
    return toToken((await this.m.ApiToken.create(t)).toObject());
  }

  /**
   * The live token with this hash (not revoked, not expired). Its last use is
   * written at most once a minute: every API call reads a token, and a write
   * per call would make the database the bottleneck under load.
   */
  async findLive(hash: string, now = new Date()): Promise<ApiToken | undefined> {
    const cached = this.live.get(hash);
    if (cached && (!cached.expiresAt || cached.expiresAt > now)) return cached;
    const d = await this.m.ApiToken.findOne({
      hash,
      revokedAt: null,
      $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }],
    }).lean();
    if (!d) return undefined;
    if (!d.lastUsedAt || now.getTime() - d.lastUsedAt.getTime() > 60_000) {
      await this.m.ApiToken.updateOne({ _id: d._id }, { $set: { lastUsedAt: now } }).catch(() => undefined);
    }
    const token = toToken(d);
    this.live.set(hash, { ...token, lastUsedAt: now });
    return token;
  }

  async list(userId?: string): Promise<ApiToken[]> {
    return (
      await this.m.ApiToken.find(userId ? { userId } : {})
        .sort({ createdAt: 1 })
        .lean()
    ).map(toToken);
  }

  async get(id: string): Promise<ApiToken | undefined> {
    const d = await this.m.ApiToken.findById(id)
      .lean()
      .catch(() => null);
    return d ? toToken(d) : undefined;
  }

  async revoke(id: string): Promise<void> {
    await this.m.ApiToken.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: new Date() } });
    for (const [hash, token] of this.live.entries()) if (token.id === id) this.live.delete(hash);
  }
}
