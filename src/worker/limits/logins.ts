/**
 * Failed-login limits per client address (protocol in rate-window.ts). `loginGuard` is handed to the
 * password check (auth/authenticate.ts), which calls `reserve` right before hashing and `forgive` after
 * a match. A check answered from the per-isolate memory of recent successes hashes nothing but still
 * asks `check`: otherwise a locked-out guesser would get 429 for every wrong password and 200 for the
 * right one (while its owner is active), and the lockout would tell them when they guessed right.
 *
 * The address is CF-Connecting-IP (set by Cloudflare's edge, which overwrites any value a client sends;
 * `wrangler dev` sets it to the peer address). IPv6 addresses count per /64, the block one subscriber is
 * usually given, so rotating through one's own addresses buys nothing. Requests without the header (only
 * possible in tests that call the Worker directly) share the key "unknown".
 */
import { RegistryError } from "../errors";
import type { RateWindow } from "./rate-window";
import { retryAfterSeconds } from "./window";

export interface LoginGuard {
  /** Throws 429 TOOMANYREQUESTS when the address has used its failures; else returns how to forgive a success. */
  reserve(): Promise<() => Promise<void>>;
  /** Throws 429 TOOMANYREQUESTS when the address has used its failures; records nothing. */
  check(): Promise<void>;
}

export type LimiterNamespace = DurableObjectNamespace<RateWindow>;

/** No limit (LOGIN_FAILURES_PER_MINUTE=0, or no LIMITER binding). */
export const NO_GUARD: LoginGuard = { reserve: async () => async () => {}, check: async () => {} };

let warnedMissing = false;

export function loginGuard(ns: LimiterNamespace | undefined, limit: number, request: Request): LoginGuard {
  if (limit <= 0) return NO_GUARD;
  if (!ns) {
    if (!warnedMissing) console.error("wharf: LOGIN_FAILURES_PER_MINUTE is set but the LIMITER Durable Object binding is missing (wrangler.toml): logins are not limited");
    warnedMissing = true;
    return NO_GUARD;
  }
  const address = clientAddress(request);
  const stub = () => ns.get(ns.idFromName(`login:${address}`));
  return {
    async check() {
      let waitMs: number;
      try {
        waitMs = await stub().peek(limit);
      } catch (e) {
        console.error(JSON.stringify({ job: "login-limit", address, error: String(e) }));
        return;
      }
      if (waitMs > 0) throw tooManyFailures(limit, waitMs);
    },
    async reserve() {
      const s = stub();
      let r: { waitMs: number; stamp: number };
      try {
        r = await s.reserve(limit);
      } catch (e) {
        // The limiter is defence in depth: a password is still required, so fail open, loudly.
        console.error(JSON.stringify({ job: "login-limit", address, error: String(e) }));
        return async () => {};
      }
      if (r.waitMs > 0) throw tooManyFailures(limit, r.waitMs);
      return async () => {
        await s.forgive(r.stamp).catch(() => {});
      };
    },
  };
}

export function tooManyFailures(limit: number, waitMs: number): RegistryError {
  const s = retryAfterSeconds(waitMs);
  return new RegistryError(
    "TOOMANYREQUESTS",
    `too many failed logins from this address (${limit} a minute): try again in ${s} s`,
    { retryAfter: s },
    { "Retry-After": String(s) },
  );
}

/** The key a request's failures are counted under. */
export function clientAddress(request: Request): string {
  const ip = request.headers.get("CF-Connecting-IP")?.trim();
  if (!ip) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  return ip.includes(":") ? ipv6Prefix64(ip) : ip;
}

/** The first four groups of an IPv6 address, expanded ("2001:db8::1" → "2001:db8:0:0::/64"). */
export function ipv6Prefix64(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, "").split("%")[0].toLowerCase();
  const [head, tail = ""] = bare.split("::");
  const h = head ? head.split(":") : [];
  const t = bare.includes("::") ? (tail ? tail.split(":") : []) : [];
  const groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
