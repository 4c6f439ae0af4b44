/**
 * Docker's token endpoint, in its two forms:
 *
 * - GET /v2/token?service=&scope=repository:<name>:pull,push[&scope=...] with Basic credentials (a
 *   user's password, or a CI token as the password) or none (anonymous): docker, skopeo, crane, oras.
 * - POST /v2/token, form `grant_type=password&username=&password=&scope=<space-separated>`: the OAuth2
 *   password grant containerd and BuildKit (docker buildx cache) try first. No refresh tokens are issued,
 *   so other grant types get 405 UNSUPPORTED (containerd then falls back to GET).
 *
 * Answers `{token, access_token, expires_in, issued_at}` with a short-lived access token whose `access`
 * claim is the intersection of the scopes asked for and what the caller may do; asking for more than
 * allowed is not an error (the token just lacks it, and the registry refuses later). Wrong credentials: 401;
 * past LOGIN_FAILURES_PER_MINUTE failures a minute from the client address: 429 before any hashing.
 */
import { BadCredentials, checkPassword, decodeBasic, type Principal } from "../../auth/authenticate";
import { Caller } from "../../auth/caller";
import { grantRequested, parseScopes } from "../../auth/grants";
import { type AuthSettings, readAuthSettings } from "../../auth/settings";
import { issueAccessToken } from "../../auth/tokens";
import { RegistryError } from "../../errors";
import { loginGuard } from "../../limits/logins";
import { METRICS } from "../../metrics/names";
import { readBodyLimited } from "../body";
import type { Handler, RequestContext } from "../context";

const MAX_FORM_BYTES = 64 * 1024;

export const issueToken: Handler = async (c) => {
  const settings = readAuthSettings(c.env);
  if (!settings.signingSecret) throw new RegistryError("UNSUPPORTED", "this registry issues no tokens: AUTH_SIGNING_SECRET is not set");
  const principal = await tokenPrincipal(c, c.request.headers.get("Authorization"), settings);
  return answer(c, settings, principal, c.url.searchParams.getAll("scope"));
};

export const issueTokenOAuth: Handler = async (c) => {
  const settings = readAuthSettings(c.env);
  if (!settings.signingSecret) throw new RegistryError("UNSUPPORTED", "this registry issues no tokens: AUTH_SIGNING_SECRET is not set");
  const form = await readForm(c.request);
  const grant = form.get("grant_type");
  if (grant !== "password") {
    throw new RegistryError("UNSUPPORTED", `grant_type ${String(grant).slice(0, 40)} is not supported: use password, or GET with Basic credentials`);
  }
  const principal = await passwordPrincipal(c, settings, form.get("username") ?? "", form.get("password") ?? "");
  return answer(c, settings, principal, form.getAll("scope"));
};

async function readForm(request: Request): Promise<URLSearchParams> {
  const length = Number(request.headers.get("Content-Length") ?? "0");
  if (!(length <= MAX_FORM_BYTES)) throw new RegistryError("SIZE_INVALID", `token request body over ${MAX_FORM_BYTES} bytes`);
  const type = request.headers.get("Content-Type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw new RegistryError("UNSUPPORTED", "POST /v2/token takes an application/x-www-form-urlencoded body");
  }
  const tooLarge = () => new RegistryError("SIZE_INVALID", `token request body over ${MAX_FORM_BYTES} bytes`);
  return new URLSearchParams(new TextDecoder().decode(await readBodyLimited(request, MAX_FORM_BYTES, tooLarge)));
}

async function answer(c: RequestContext, settings: AuthSettings, principal: Principal, scopes: string[]): Promise<Response> {
  const secret = settings.signingSecret!;
  const caller = new Caller(settings, { principal, via: principal.kind === "anonymous" ? "none" : "basic" }, c.url.origin);
  const access = grantRequested(caller.permissions, parseScopes(scopes));
  const subject = principal.kind === "user" ? principal.name : principal.kind === "token" ? principal.token.subject : "";
  const ci = principal.kind === "token" ? principal.token.id : undefined;
  const { token, issuedAt, expiresIn } = await issueAccessToken(secret, {
    service: settings.service,
    subject,
    access,
    ttlSeconds: settings.tokenTtlSeconds,
    ci,
  });
  const body = { token, access_token: token, expires_in: expiresIn, issued_at: new Date(issuedAt * 1000).toISOString() };
  return new Response(JSON.stringify(body), {
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

async function tokenPrincipal(c: RequestContext, header: string | null, settings: AuthSettings): Promise<Principal> {
  if (!header) return { kind: "anonymous" };
  const m = /^basic\s+(.*)$/i.exec(header.trim());
  const creds = m ? decodeBasic(m[1]) : null;
  if (!creds) throw unauthorized("the token endpoint takes Basic credentials (user and password, or a CI token as the password)");
  return passwordPrincipal(c, settings, creds.user, creds.password);
}

/** The password check, cleared first with the failed-login limit (src/worker/limits/logins.ts). */
async function passwordPrincipal(c: RequestContext, settings: AuthSettings, user: string, password: string): Promise<Principal> {
  const guard = loginGuard(c.env.LIMITER, c.settings.LOGIN_FAILURES_PER_MINUTE, c.request);
  try {
    return await checkPassword(settings, user, password, guard);
  } catch (e) {
    if (e instanceof BadCredentials) {
      c.metrics.count(METRICS.login_failures, 1, { kind: "token", status: "401" });
      c.log.set({ login: "failed", user });
      throw unauthorized(e.message);
    }
    if (e instanceof RegistryError && e.code === "TOOMANYREQUESTS") {
      c.metrics.count(METRICS.login_failures, 1, { kind: "token", status: "429" });
      c.log.set({ login: "refused", user });
    }
    throw e;
  }
}

const unauthorized = (message: string) =>
  new RegistryError("UNAUTHORIZED", message, null, { "WWW-Authenticate": 'Basic realm="wharf"' });
