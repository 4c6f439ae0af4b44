/**
 * Who may do what: the seam between routes and src/auth. Every route declares the action it needs
 * (router.ts); `identify` reads the caller's credentials once per request and `authorize` refuses before
 * the handler runs. `Caller.may` also answers the handlers' own questions (cross-repository mounts).
 * The rules, tokens and refusals are described in src/worker/auth/caller.ts and src/worker/auth/settings.ts.
 */
import { BadCredentials, identifyCaller } from "../auth/authenticate";
import { bearerChallenge, Caller } from "../auth/caller";
import { readAuthSettings } from "../auth/settings";
import type { Env } from "../config";
import { RegistryError } from "../errors";
import type { LoginGuard } from "../limits/logins";
import { METRICS } from "../metrics/names";
import type { Metrics } from "../metrics";
import type { Action } from "./context";

export type { Caller };

/** The caller; wrong credentials are 401, and past the failed-login limit 429 (both counted as login failures). */
export async function identify(request: Request, env: Env, guard?: LoginGuard, metrics?: Metrics): Promise<Caller> {
  const settings = readAuthSettings(env);
  const origin = new URL(request.url).origin;
  const header = request.headers.get("Authorization");
  try {
    return new Caller(settings, await identifyCaller(settings, header, guard), origin);
  } catch (e) {
    const kind = /^\s*bearer\b/i.test(header ?? "") ? "bearer" : "basic";
    if (e instanceof RegistryError && e.code === "TOOMANYREQUESTS") metrics?.count(METRICS.login_failures, 1, { kind, status: "429" });
    if (!(e instanceof BadCredentials)) throw e;
    metrics?.count(METRICS.login_failures, 1, { kind, status: "401" });
    throw new RegistryError("UNAUTHORIZED", e.message, null, {
      "WWW-Authenticate": bearerChallenge(settings, origin, "login", "", "invalid_token"),
    });
  }
}

export function authorize(caller: Caller, action: Action, repo: string): void {
  caller.authorize(action, repo);
}

/**
 * Immutable content is sent with `Cache-Control: public` so caches may keep it; a response that needed
 * credentials becomes `private` instead, so no shared cache hands it to a caller without them.
 */
export function keepPrivate(caller: Caller, action: Action, repo: string, res: Response): Response {
  const cc = res.headers.get("Cache-Control");
  if (!cc || !/^\s*public\b/i.test(cc) || caller.anonymousMay(action, repo)) return res;
  const headers = new Headers(res.headers);
  headers.set("Cache-Control", cc.replace(/^\s*public\b/i, "private"));
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}
