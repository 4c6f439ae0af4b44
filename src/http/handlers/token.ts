/**
 * GET /v2/token?service=&scope=repository:<name>:pull,push[&scope=...]: Docker's token endpoint.
 *
 * Basic credentials (a user's password, or a CI token as the password) or none (anonymous). Answers
 * `{token, access_token, expires_in, issued_at}` with a short-lived access token whose `access` claim is
 * the intersection of the scopes asked for and what the caller may do; asking for more than allowed is
 * not an error (the token just lacks it, and the registry refuses later). Wrong credentials: 401.
 */
import { BadCredentials, checkPassword, decodeBasic, type Principal } from "../../auth/authenticate";
import { Caller } from "../../auth/caller";
import { grantRequested, parseScopes } from "../../auth/grants";
import { readAuthSettings } from "../../auth/settings";
import { issueAccessToken } from "../../auth/tokens";
import { RegistryError } from "../../errors";
import type { Handler } from "../context";

export const issueToken: Handler = async (c) => {
  const settings = readAuthSettings(c.env);
  const secret = settings.signingSecret;
  if (!secret) throw new RegistryError("UNSUPPORTED", "this registry issues no tokens: AUTH_SIGNING_SECRET is not set");
  const principal = await tokenPrincipal(c.request.headers.get("Authorization"), settings);
  const caller = new Caller(settings, { principal, via: principal.kind === "anonymous" ? "none" : "basic" }, c.url.origin);
  const access = grantRequested(caller.permissions, parseScopes(c.url.searchParams.getAll("scope")));
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
};

async function tokenPrincipal(header: string | null, settings: ReturnType<typeof readAuthSettings>): Promise<Principal> {
  if (!header) return { kind: "anonymous" };
  const m = /^basic\s+(.*)$/i.exec(header.trim());
  const creds = m ? decodeBasic(m[1]) : null;
  if (!creds) throw unauthorized("the token endpoint takes Basic credentials (user and password, or a CI token as the password)");
  try {
    return await checkPassword(settings, creds.user, creds.password);
  } catch (e) {
    if (e instanceof BadCredentials) throw unauthorized(e.message);
    throw e;
  }
}

const unauthorized = (message: string) =>
  new RegistryError("UNAUTHORIZED", message, null, { "WWW-Authenticate": 'Basic realm="wharf"' });
