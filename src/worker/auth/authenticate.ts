/**
 * Who is calling: the Authorization header turned into an identity, or a refusal.
 *
 * - no header: anonymous.
 * - `Basic user:password`: a CI token as the password (any user name), else a user from AUTH_CONFIG.
 *   An unknown user and a wrong password cost the same PBKDF2 work and give the same answer.
 *   Successful checks are remembered for a minute per isolate (keyed by a hash of the credentials and
 *   the stored hash), so clients that send Basic credentials on every request pay PBKDF2 once; the same
 *   credentials arriving while their check runs wait for it rather than start another (one reservation
 *   against the limiter, one PBKDF2, whatever the client's parallelism).
 *   Every check is first cleared with the failed-login limiter (`LoginGuard`, src/worker/limits/): a
 *   client address past LOGIN_FAILURES_PER_MINUTE gets 429 before any PBKDF2 work is done, even for
 *   remembered credentials.
 * - `Bearer <token>`: an access token from the token endpoint (or a CI token).
 *
 * Without AUTH_SIGNING_SECRET no credential can be valid (there are no users and no tokens), so the
 * header is ignored and the caller is anonymous.
 */
import { sha256Hex } from "../signing/hmac";
import { looksLikeJwt } from "./jwt";
import { verifyPassword } from "./password";
import { type LoginGuard, NO_GUARD } from "../limits/logins";
import type { AuthSettings } from "./settings";
import { type VerifiedToken, verifyToken } from "./tokens";

export type Principal =
  | { kind: "anonymous" }
  | { kind: "user"; name: string }
  | { kind: "token"; token: VerifiedToken };

export type Via = "none" | "basic" | "bearer";

export interface Identity {
  principal: Principal;
  via: Via;
}

/** Credentials were presented and are not valid (the reason is for the error message only). */
export class BadCredentials extends Error {}

const ANONYMOUS: Identity = { principal: { kind: "anonymous" }, via: "none" };

export async function identifyCaller(settings: AuthSettings, header: string | null, guard: LoginGuard = NO_GUARD): Promise<Identity> {
  if (!header || !settings.signingSecret) return ANONYMOUS;
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? "" : header.slice(space + 1).trim();
  if (scheme === "basic") {
    const creds = decodeBasic(value);
    if (!creds) throw new BadCredentials("malformed Basic credentials");
    return { principal: await checkPassword(settings, creds.user, creds.password, guard), via: "basic" };
  }
  if (scheme === "bearer") {
    const token = await verifyToken(settings.signingSecret, value, settings.service, settings.revoked);
    if (!token) throw new BadCredentials("token invalid, expired or revoked");
    return { principal: { kind: "token", token }, via: "bearer" };
  }
  throw new BadCredentials(`unsupported authorization scheme ${scheme.slice(0, 20)}`);
}

export function decodeBasic(value: string): { user: string; password: string } | null {
  let text: string;
  try {
    const bin = atob(value);
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon < 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

const recent = new Map<string, number>();
const RECENT_MS = 60_000;
const RECENT_MAX = 1000;

/** A user name and password (or CI token) to a principal; throws BadCredentials, the same for every failure. */
export async function checkPassword(settings: AuthSettings, user: string, password: string, guard: LoginGuard = NO_GUARD): Promise<Principal> {
  const secret = settings.signingSecret;
  if (secret && looksLikeJwt(password)) {
    const token = await verifyToken(secret, password, settings.service, settings.revoked);
    if (token?.kind === "ci") return { kind: "token", token };
  }
  const known = settings.users.get(user);
  const stored = known ?? settings.unknownUser;
  const key = await sha256Hex(`${user}\0${password}\0${stored.key}`);
  const now = Date.now();
  if (known && (recent.get(key) ?? 0) > now) {
    await guard.check();
    return { kind: "user", name: user };
  }
  // The same credentials already being checked in this isolate (a client's parallel first requests):
  // wait for that check instead of reserving another attempt, so a right password sent 16 times at once
  // is not 16 reservations against the limit, and a wrong one sent 16 times is one failure.
  const pending = inflight.get(key);
  if (pending) {
    if (!(await pending)) throw new BadCredentials("invalid username or password");
    await guard.check();
    return { kind: "user", name: user };
  }
  const checking = (async () => {
    const forgive = await guard.reserve();
    const ok = (await verifyPassword(stored, password)) && known !== undefined;
    if (ok) await forgive();
    return ok;
  })();
  inflight.set(key, checking);
  let ok: boolean;
  try {
    ok = await checking;
  } finally {
    inflight.delete(key);
  }
  if (!ok) throw new BadCredentials("invalid username or password");
  if (recent.size >= RECENT_MAX) recent.clear();
  recent.set(key, now + RECENT_MS);
  return { kind: "user", name: user };
}

/** Checks in progress in this isolate, by the same key as `recent`: true for a match. */
const inflight = new Map<string, Promise<boolean>>();
