/**
 * @file The platform's signing keys. One key signs; every published key is in
 * the JWKS. `rotate()` adds a new signing key and keeps the old ones published
 * (so tokens already issued still verify); `retire(kid)` unpublishes one.
 */
import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

interface PlatformKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export class PlatformKeys {
  private readonly keys: PlatformKey[] = [];

  /** Kid of the key that signs new tokens. */
  get currentKid(): string {
    const key = this.keys.at(-1);
    if (!key) throw new Error('the platform has no signing key yet: call rotate() first');
    return key.kid;
  }

  /** Generates a new RS256 key and makes it the signing key; returns its kid. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    this.keys.push({ kid, privateKey, publicJwk });
    return kid;
  }

  /** Removes a key from the JWKS; tokens signed with it no longer verify. The signing key cannot be retired. */
  retire(kid: string): void {
    if (kid === this.currentKid) throw new Error(`key ${kid} signs new tokens: rotate() before retiring it`);
    const index = this.keys.findIndex((k) => k.kid === kid);
    if (index < 0) throw new Error(`no published key with kid ${kid}`);
    this.keys.splice(index, 1);
  }

  jwks(): JSONWebKeySet {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /**
   * Signs with the current key (header: alg RS256, typ JWT, kid). Tests may
   * put another kid in the header, or none (`null`).
   */
  async sign(payload: JWTPayload, header: { kid?: string | null } = {}): Promise<string> {
    const key = this.keys.at(-1);
    if (!key) throw new Error('the platform has no signing key yet: call rotate() first');
    const kid = header.kid === undefined ? key.kid : header.kid;
    const protectedHeader = kid === null ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid };
    return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key.privateKey);
  }
}
