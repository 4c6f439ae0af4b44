/**
 * Optional budget of requests per CI token per minute (CI_TOKEN_REQUESTS_PER_MINUTE, 0 = off), so one
 * runaway pipeline cannot monopolise the registry. A request counts against the CI token it carries,
 * directly (Basic password or Bearer) or through an access token the token endpoint made from it (the
 * `ci` claim). Counted in the RateWindow Durable Object for that token id (protocol in rate-window.ts):
 * one Durable Object call per request carrying such a token, and none at all while the setting is 0.
 */
import type { Principal } from "../auth/authenticate";
import { RegistryError } from "../errors";
import type { LimiterNamespace } from "./logins";
import { retryAfterSeconds } from "./window";

/** The CI token a principal acts for, if any. */
export function ciTokenOf(p: Principal): string | undefined {
  if (p.kind !== "token") return undefined;
  return p.token.kind === "ci" ? p.token.id : p.token.ci;
}

/** Throws 429 TOOMANYREQUESTS with Retry-After when the CI token has used its minute. */
export async function chargeCiToken(ns: LimiterNamespace | undefined, limit: number, p: Principal): Promise<void> {
  const id = ciTokenOf(p);
  if (!id || limit <= 0 || !ns) return;
  let waitMs: number;
  try {
    waitMs = await ns.get(ns.idFromName(`ci:${id}`)).take(limit);
  } catch (e) {
    console.error(JSON.stringify({ job: "ci-token-limit", token: id, error: String(e) }));
    return;
  }
  if (waitMs <= 0) return;
  const s = retryAfterSeconds(waitMs);
  throw new RegistryError(
    "TOOMANYREQUESTS",
    `CI token ${id} is over its ${limit} requests a minute: try again in ${s} s`,
    { retryAfter: s },
    { "Retry-After": String(s) },
  );
}
