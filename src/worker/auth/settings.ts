/**
 * Authentication settings from the Worker's environment (secrets in production, `.dev.vars` or the
 * environment of `npm start` locally). Parsed once per distinct value and kept per isolate.
 *
 * AUTH_CONFIG (a secret) is one JSON document:
 *
 *     {
 *       "users": { "alice": "pbkdf2-sha256$100000$<salt>$<key>" },
 *       "rules": [
 *         { "users": ["anonymous"], "repositories": ["public/*"], "actions": ["pull"] },
 *         { "users": ["alice"], "repositories": ["team/*"], "actions": ["pull", "push", "delete"] },
 *         { "users": ["*"], "repositories": ["*"], "actions": ["pull"] },
 *         { "users": ["alice"], "actions": ["catalog"] }
 *       ]
 *     }
 *
 * In `users` of a rule, "anonymous" means every caller (with or without credentials) and "*" every
 * authenticated user. Actions: pull, push, delete, "*" (all three), catalog (the repository list; needs no
 * `repositories`). A caller may do the union of the rules that name it. Nothing else is allowed.
 *
 * Without AUTH_CONFIG anyone may pull and list the catalog, and pushes and deletes are refused, unless
 * AUTH_ANONYMOUS_PUSH=true, which lets everyone do everything (the local `npm start` default, printed
 * when it starts). AUTH_ANONYMOUS_PUSH=true with AUTH_CONFIG adds that to the rules.
 */
import { parseSettings, readSettings, type Settings } from "../settings";
import { ANONYMOUS, ANY_USER, type Rule } from "./document";
import type { Grant, Permissions } from "./grants";
import { DEFAULT_ITERATIONS, dummyHash, type PasswordHash } from "./password";

export { ANONYMOUS, ANY_USER, type AuthDocument, type Rule } from "./document";

export interface AuthSettings {
  /** AUTH_CONFIG is set: the registry has users and rules. */
  configured: boolean;
  users: ReadonlyMap<string, PasswordHash>;
  rules: readonly Rule[];
  /** Hash checked for unknown users, as costly as the real ones. */
  unknownUser: PasswordHash;
  anonymousPush: boolean;
  /** HMAC key of access tokens and CI tokens; without it no token is issued or accepted. */
  signingSecret: string | undefined;
  service: string;
  tokenTtlSeconds: number;
  revoked: ReadonlySet<string>;
}


const derived = new WeakMap<Settings, AuthSettings>();

/** The auth view of this environment's settings (validated once, src/worker/settings.ts). */
export function readAuthSettings(env: object): AuthSettings {
  const settings = readSettings(env);
  let auth = derived.get(settings);
  if (!auth) derived.set(settings, (auth = authSettingsOf(settings)));
  return auth;
}

/** Parse the AUTH_* settings of an environment (throws SettingsError naming the setting). */
export function parseAuthSettings(env: Partial<Record<string, string>>): AuthSettings {
  return authSettingsOf(parseSettings(env));
}

function authSettingsOf(s: Settings): AuthSettings {
  const doc = s.AUTH_CONFIG;
  const users = doc?.users ?? new Map<string, PasswordHash>();
  const iterations = Math.max(DEFAULT_ITERATIONS, ...[...users.values()].map((h) => h.iterations));
  return {
    configured: !!doc,
    users,
    rules: doc?.rules ?? [],
    unknownUser: dummyHash(iterations),
    anonymousPush: s.AUTH_ANONYMOUS_PUSH,
    signingSecret: s.AUTH_SIGNING_SECRET,
    service: s.AUTH_SERVICE,
    tokenTtlSeconds: s.AUTH_TOKEN_TTL_SECONDS,
    revoked: new Set(s.AUTH_REVOKED_TOKENS),
  };
}

/** What the rules allow one caller: `user` undefined for anonymous callers. */
export function rulesFor(settings: AuthSettings, user: string | undefined): Permissions {
  const grants: Grant[] = [];
  let catalog = false;
  for (const r of settings.rules) {
    if (r.users.has(ANONYMOUS) || (user !== undefined && (r.users.has(ANY_USER) || r.users.has(user)))) {
      grants.push(...r.grant);
      catalog ||= r.catalog;
    }
  }
  return { grants, catalog };
}
