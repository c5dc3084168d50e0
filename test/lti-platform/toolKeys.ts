/**
 * @file The tool's public keys, to verify what the tool signs (deep linking
 * responses, client assertions): from its JWKS URL (fetched and cached; an
 * unknown kid triggers a refetch, so tool key rotation works) or from keys
 * given at registration.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { Tool } from './model.js';

export class ToolKeys {
  private readonly remote = new Map<string, JWTVerifyGetKey>();

  /** The key resolver for jose's jwtVerify. */
  for(tool: Tool): JWTVerifyGetKey {
    if (tool.keys) return createLocalJWKSet(tool.keys);
    if (!tool.jwksUrl) throw new Error(`tool ${tool.clientId} has neither a JWKS URL nor keys`);
    let set = this.remote.get(tool.jwksUrl);
    if (!set) {
      // A short cooldown: tests rotate the tool's keys and expect the next token to verify.
      set = createRemoteJWKSet(new URL(tool.jwksUrl), {
        cooldownDuration: 0,
        cacheMaxAge: 60_000,
        timeoutDuration: 5000,
      });
      this.remote.set(tool.jwksUrl, set);
    }
    return set;
  }
}
