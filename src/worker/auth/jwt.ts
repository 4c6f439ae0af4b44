/**
 * Compact JWTs signed with HMAC-SHA256 (HS256) on WebCrypto: the registry's access tokens and CI tokens.
 * Runs in the Worker and in Node (the offline token minting script), so it uses only `crypto.subtle`.
 *
 * `verifyJwt` accepts exactly `{"alg":"HS256"}`: no `none`, no algorithm chosen by the token. The
 * signature is compared in constant time, then the time claims are checked; a token that fails any
 * check yields null, never a partial result.
 */
import { base64url } from "../../oci/encoding";
import { hmacSha256, timingSafeEqual } from "../signing/hmac";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Claims every Wharf token carries; the rest depends on the kind of token. */
export interface BaseClaims {
  iss: string;
  aud: string;
  sub: string;
  jti: string;
  iat: number;
  nbf?: number;
  exp: number;
}

const HEADER = base64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })).buffer as ArrayBuffer);

function encodeJson(value: unknown): string {
  return base64url(enc.encode(JSON.stringify(value)).buffer as ArrayBuffer);
}

function decodeJson(part: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (part.length % 4)) % 4);
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return JSON.parse(dec.decode(bytes));
  } catch {
    return undefined;
  }
}

export async function signJwt(secret: string, claims: BaseClaims & Record<string, unknown>): Promise<string> {
  const body = `${HEADER}.${encodeJson(claims)}`;
  return `${body}.${base64url(await hmacSha256(secret, body))}`;
}

/** Does this string have the shape of a JWT (three base64url parts)? Says nothing about validity. */
export function looksLikeJwt(s: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(s);
}

/** The claims of a token signed with `secret`, unexpired, for `audience`; null otherwise. */
export async function verifyJwt(
  secret: string,
  token: string,
  audience: string,
  nowSeconds = Date.now() / 1000,
): Promise<(BaseClaims & Record<string, unknown>) | null> {
  if (!looksLikeJwt(token)) return null;
  const [header, payload, signature] = token.split(".");
  const expected = base64url(await hmacSha256(secret, `${header}.${payload}`));
  if (!timingSafeEqual(expected, signature)) return null;
  const h = decodeJson(header) as { alg?: unknown } | undefined;
  if (!h || h.alg !== "HS256") return null;
  const claims = decodeJson(payload) as (BaseClaims & Record<string, unknown>) | undefined;
  if (!claims || typeof claims !== "object") return null;
  if (typeof claims.exp !== "number" || claims.exp <= nowSeconds) return null;
  if (typeof claims.nbf === "number" && claims.nbf > nowSeconds + 60) return null;
  if (claims.aud !== audience || typeof claims.sub !== "string" || typeof claims.jti !== "string") return null;
  return claims;
}
