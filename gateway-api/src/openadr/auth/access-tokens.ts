import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Who a bearer token was issued to. */
export interface AccessClaims {
  /** The OAuth2 client id: a VEN's, or `bl:<MSP id>` for a business-logic client. */
  readonly sub: string;
  readonly role: 'ven' | 'bl';
  readonly scope: string;
  /**
   * A business-logic token is bound to the certificate it was issued for (RFC 8705 3.1: the
   * base64url SHA-256 thumbprint of its DER), so only that client's mutual-TLS connection uses it.
   */
  readonly cnf?: { readonly 'x5t#S256': string };
  /** Unix seconds. */
  readonly exp: number;
}

/** Default token lifetime: an hour, as OAuth2 clients assume when none is given. */
export const DEFAULT_TOKEN_SECONDS = 3600;

/**
 * Self-contained bearer tokens: the claims and an HMAC-SHA256 over them under a key every gateway
 * instance of the utility shares (a file, see tokenKeyFile), so any instance accepts a token
 * another issued and no token store is needed. A token says who it was issued to; revocation is
 * checked on every request against the VEN registry, so a revoked VEN's token stops working too.
 */
export class AccessTokens {
  constructor(
    private readonly key: Uint8Array,
    readonly lifetimeSeconds = DEFAULT_TOKEN_SECONDS,
    private readonly now: () => number = Date.now,
  ) {
    if (key.length < 32) {
      throw new Error('the access token key must hold at least 32 bytes');
    }
  }

  issue(claims: Omit<AccessClaims, 'exp'>): { token: string; expiresIn: number } {
    const body = Buffer.from(
      JSON.stringify({ ...claims, exp: Math.floor(this.now() / 1000) + this.lifetimeSeconds }),
    ).toString('base64url');
    return { token: `${body}.${this.mac(body)}`, expiresIn: this.lifetimeSeconds };
  }

  /** The claims of a token this key made and that has not expired; undefined otherwise. */
  verify(token: string): AccessClaims | undefined {
    const [body, mac, extra] = token.split('.');
    if (body === undefined || mac === undefined || extra !== undefined || token.length > 2048) {
      return undefined;
    }
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return undefined;
    }
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as AccessClaims;
      return typeof claims.exp === 'number' && claims.exp * 1000 > this.now() ? claims : undefined;
    } catch {
      return undefined;
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/**
 * The token key in `file`, made (32 random bytes, owner-only) when absent. Gateway instances of
 * one utility point HEMS_GATEWAY_OPENADR_TOKEN_KEY at the same file to accept each other's tokens.
 */
export function tokenKeyFile(file: string): Uint8Array {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}
