/**
 * The two kinds of token Wharf signs with AUTH_SIGNING_SECRET (both HS256 JWTs, see jwt.ts):
 *
 * - access tokens (`"kind": "access"`), issued by the token endpoint for AUTH_TOKEN_TTL_SECONDS
 *   (default 300); their `access` claim lists exact repository names and the actions granted. An access
 *   token obtained with a CI token carries that CI token's id in `ci`, so revoking the CI token also
 *   ends the access tokens made from it.
 * - CI tokens (`"kind": "ci"`), minted offline (ci-token.ts); their `access` claim holds repository
 *   patterns. They are used as the password of Basic credentials (docker login, skopeo --creds).
 *
 * A token is refused when its signature, audience (AUTH_SERVICE) or expiry is wrong, or when its id (or
 * the CI token it came from) is listed in AUTH_REVOKED_TOKENS.
 */
import { type AccessEntry, fromAccessClaim, type Permissions } from "./grants";
import { type BaseClaims, signJwt, verifyJwt } from "./jwt";

export type TokenKind = "access" | "ci";

export interface VerifiedToken {
  kind: TokenKind;
  id: string;
  subject: string;
  permissions: Permissions;
  /** For access tokens made from a CI token: that CI token's id. */
  ci?: string;
  expiresAt: number;
}

export interface TokenClaims extends BaseClaims {
  kind: TokenKind;
  access: AccessEntry[];
  ci?: string;
}

export function newTokenId(): string {
  return [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function signToken(secret: string, claims: TokenClaims): Promise<string> {
  return signJwt(secret, claims as unknown as BaseClaims & Record<string, unknown>);
}

export async function issueAccessToken(
  secret: string,
  o: { service: string; subject: string; access: AccessEntry[]; ttlSeconds: number; ci?: string; now?: number },
): Promise<{ token: string; issuedAt: number; expiresIn: number }> {
  const iat = Math.floor(o.now ?? Date.now() / 1000);
  const claims: TokenClaims = {
    iss: o.service,
    aud: o.service,
    sub: o.subject,
    jti: newTokenId(),
    iat,
    nbf: iat - 1,
    exp: iat + o.ttlSeconds,
    kind: "access",
    access: o.access,
    ...(o.ci ? { ci: o.ci } : {}),
  };
  return { token: await signToken(secret, claims), issuedAt: iat, expiresIn: o.ttlSeconds };
}

/** Check any Wharf token; null when it is not one we signed, expired, or revoked. */
export async function verifyToken(
  secret: string,
  token: string,
  service: string,
  revoked: ReadonlySet<string>,
  nowSeconds = Date.now() / 1000,
): Promise<VerifiedToken | null> {
  const claims = await verifyJwt(secret, token, service, nowSeconds);
  if (!claims || (claims.kind !== "access" && claims.kind !== "ci")) return null;
  const ci = claims.kind === "access" && typeof claims.ci === "string" ? claims.ci : undefined;
  if (revoked.has(claims.jti) || (ci && revoked.has(ci))) return null;
  return {
    kind: claims.kind,
    id: claims.jti,
    subject: claims.sub,
    permissions: fromAccessClaim(claims.access, claims.kind === "ci"),
    ci,
    expiresAt: claims.exp,
  };
}
