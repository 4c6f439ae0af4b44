/**
 * Who is looking at a page, and the protections around signing in and changing things.
 *
 * Session: signing in (a user's password, or a CI token as the password) sets the cookie
 * `wharf_session` (HttpOnly, SameSite=Strict, Path=/, Secure unless the host is loopback) holding a
 * short-lived HS256 token signed with AUTH_SIGNING_SECRET, `kind: "session"`. The API's token checks
 * accept only `access` and `ci` tokens, so a session cookie is never a credential for /v2, and the API
 * never reads cookies, so cross-site requests cannot act through it. The token names the user (whose
 * rules are read afresh on every request, so a rule change applies at once and a removed user is
 * signed out) or, for a CI token, that token's permissions and id (revoking the CI token in
 * AUTH_REVOKED_TOKENS ends the session too). It lasts UI_SESSION_TTL_SECONDS, never past the CI token.
 *
 * CSRF: every state-changing request (POST) must come from our own pages: its Origin (or
 * Sec-Fetch-Site) must be same-origin, and its form must carry `csrf`, an HMAC of the session's id
 * (signed in) or of the random `wharf_csrf` cookie (anonymous, e.g. the sign-in form itself).
 */
import { type Identity, BadCredentials, checkPassword } from "../auth/authenticate";
import { Caller } from "../auth/caller";
import { fromAccessClaim, toAccessClaim } from "../auth/grants";
import { signJwt, verifyJwt } from "../auth/jwt";
import { type AuthSettings } from "../auth/settings";
import { newTokenId } from "../auth/tokens";
import { RegistryError } from "../errors";
import { base64url } from "../../oci/encoding";
import { hmacSha256, timingSafeEqual } from "../signing/hmac";

export const SESSION_COOKIE = "wharf_session";
export const CSRF_COOKIE = "wharf_csrf";

export interface Session {
  id: string;
  /** "alice" or "CI token <id>" */
  label: string;
  expiresAt: number;
}

export interface Viewer {
  caller: Caller;
  session: Session | null;
  /** What CSRF tokens are bound to: the session id, or the anonymous CSRF cookie (new ones set one). */
  csrfId: string;
  /** A Set-Cookie header to send with the page, when a new CSRF cookie was made. */
  setCookie?: string;
}

export function cookies(request: Request): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (request.headers.get("Cookie") ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

/** Loopback hosts are plain HTTP in development: a Secure cookie would not come back there from every browser. */
export function isLoopback(url: URL): boolean {
  const h = url.hostname;
  return h === "localhost" || h.endsWith(".localhost") || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function cookie(url: URL, name: string, value: string, maxAge: number): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${isLoopback(url) ? "" : "; Secure"}`;
}

interface SessionClaims {
  kind: "session";
  user?: string;
  ci?: string;
  access?: unknown;
}

/** Check credentials the way the token endpoint does, and make the session token for them. */
export async function signIn(
  settings: AuthSettings,
  user: string,
  password: string,
  ttlSeconds: number,
): Promise<{ token: string; session: Session }> {
  if (!settings.signingSecret) throw new RegistryError("UNSUPPORTED", "this registry has no authentication configured (AUTH_SIGNING_SECRET)");
  let principal;
  try {
    principal = await checkPassword(settings, user, password);
  } catch (e) {
    if (e instanceof BadCredentials) throw new RegistryError("UNAUTHORIZED", "invalid username, password or token");
    throw e;
  }
  const now = Math.floor(Date.now() / 1000);
  let exp = now + ttlSeconds;
  const claims: SessionClaims = { kind: "session" };
  let label: string;
  if (principal.kind === "user") {
    claims.user = principal.name;
    label = principal.name;
  } else if (principal.kind === "token") {
    claims.ci = principal.token.id;
    claims.access = toAccessClaim(principal.token.permissions);
    exp = Math.min(exp, principal.token.expiresAt);
    label = `CI token ${principal.token.id.slice(0, 8)}`;
  } else {
    throw new RegistryError("UNAUTHORIZED", "invalid username, password or token");
  }
  const id = newTokenId();
  const token = await signJwt(settings.signingSecret, {
    iss: settings.service,
    aud: settings.service,
    sub: label,
    jti: id,
    iat: now,
    exp,
    ...claims,
  });
  return { token, session: { id, label, expiresAt: exp } };
}

/** The identity a session cookie stands for, or null when it is missing, expired, revoked or stale. */
export async function readSession(settings: AuthSettings, token: string | undefined): Promise<{ identity: Identity; session: Session } | null> {
  if (!token || !settings.signingSecret) return null;
  const c = (await verifyJwt(settings.signingSecret, token, settings.service)) as (SessionClaims & { jti: string; sub: string; exp: number }) | null;
  if (!c || c.kind !== "session") return null;
  const session = { id: c.jti, label: c.sub, expiresAt: c.exp };
  if (typeof c.user === "string") {
    if (!settings.users.has(c.user)) return null;
    return { identity: { principal: { kind: "user", name: c.user }, via: "basic" }, session };
  }
  if (typeof c.ci === "string") {
    if (settings.revoked.has(c.ci)) return null;
    const token = { kind: "ci" as const, id: c.ci, subject: c.sub, permissions: fromAccessClaim(c.access, true), expiresAt: c.exp };
    return { identity: { principal: { kind: "token", token }, via: "basic" }, session };
  }
  return null;
}

/** The visitor of a page: the session's caller, or anonymous (with a CSRF cookie for forms). */
export async function viewer(request: Request, settings: AuthSettings): Promise<Viewer> {
  const url = new URL(request.url);
  const jar = cookies(request);
  const found = await readSession(settings, jar.get(SESSION_COOKIE));
  const identity: Identity = found?.identity ?? { principal: { kind: "anonymous" }, via: "none" };
  const caller = new Caller(settings, identity, url.origin);
  if (found) return { caller, session: found.session, csrfId: `s:${found.session.id}` };
  const existing = jar.get(CSRF_COOKIE);
  if (existing && /^[0-9a-f]{24}$/.test(existing)) return { caller, session: null, csrfId: `a:${existing}` };
  const fresh = newTokenId();
  return { caller, session: null, csrfId: `a:${fresh}`, setCookie: cookie(url, CSRF_COOKIE, fresh, 86400) };
}

function csrfKey(settings: AuthSettings, fallback: string | undefined): string {
  return settings.signingSecret ?? fallback ?? "wharf-csrf";
}

export async function csrfToken(settings: AuthSettings, v: Viewer, fallbackKey?: string): Promise<string> {
  return base64url(await hmacSha256(csrfKey(settings, fallbackKey), `csrf\0${v.csrfId}`));
}

/** Refuse a state-changing request that did not come from one of our own forms. */
export async function checkCsrf(request: Request, form: URLSearchParams, settings: AuthSettings, v: Viewer, fallbackKey?: string): Promise<void> {
  const url = new URL(request.url);
  const origin = request.headers.get("Origin");
  const site = request.headers.get("Sec-Fetch-Site");
  const crossSite = (origin !== null && origin !== url.origin) || (site !== null && site !== "same-origin" && site !== "none");
  const sent = form.get("csrf") ?? "";
  const ok = !crossSite && !v.setCookie && timingSafeEqual(sent, await csrfToken(settings, v, fallbackKey));
  if (!ok) throw new RegistryError("DENIED", "this form has expired or did not come from this registry's pages: reload the page and try again");
}
