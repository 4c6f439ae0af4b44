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
 * `repositories`), gc (start garbage collection runs and read their reports, /_wharf/gc; registry-wide too). A caller may do the union of the rules that name it. Nothing else is allowed.
 *
 * Without AUTH_CONFIG anyone may pull and list the catalog, and pushes and deletes are refused, unless
 * AUTH_ANONYMOUS_PUSH=true, which lets everyone do everything (the local `npm start` default, printed
 * when it starts). AUTH_ANONYMOUS_PUSH=true with AUTH_CONFIG adds that to the rules.
 */
import { type Grant, isValidPattern, type Permissions, REPO_ACTIONS, repoActions } from "./grants";
import { DEFAULT_ITERATIONS, dummyHash, type PasswordHash, parsePasswordHash } from "./password";

export interface AuthEnv {
  /** Users (password hashes) and rules, JSON as above. A secret. */
  AUTH_CONFIG?: string;
  /** HMAC key (32+ characters) of access tokens and CI tokens. Required with AUTH_CONFIG. A secret. */
  AUTH_SIGNING_SECRET?: string;
  /** "true": anyone may pull, push and delete everywhere. */
  AUTH_ANONYMOUS_PUSH?: string;
  /** Ids of revoked CI tokens, comma or space separated. */
  AUTH_REVOKED_TOKENS?: string;
  /** The `service` of challenges and the audience of tokens (default "wharf"). */
  AUTH_SERVICE?: string;
  /** Lifetime of access tokens from the token endpoint, seconds (default 300). */
  AUTH_TOKEN_TTL_SECONDS?: string;
}

export interface Rule {
  users: ReadonlySet<string>;
  grant: Grant[];
  catalog: boolean;
  gc: boolean;
}

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

export const ANONYMOUS = "anonymous";
export const ANY_USER = "*";
export const DEFAULT_SERVICE = "wharf";
export const DEFAULT_TOKEN_TTL_SECONDS = 300;
const USER_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

let memo: { key: string; settings: AuthSettings } | undefined;

export function readAuthSettings(env: AuthEnv): AuthSettings {
  const key = JSON.stringify([
    env.AUTH_CONFIG, env.AUTH_SIGNING_SECRET, env.AUTH_ANONYMOUS_PUSH, env.AUTH_REVOKED_TOKENS, env.AUTH_SERVICE, env.AUTH_TOKEN_TTL_SECONDS,
  ]);
  if (memo?.key !== key) memo = { key, settings: parseAuthSettings(env) };
  return memo.settings;
}

export function parseAuthSettings(env: AuthEnv): AuthSettings {
  const configured = !!env.AUTH_CONFIG?.trim();
  const { users, rules } = configured ? parseAuthConfig(env.AUTH_CONFIG!) : { users: new Map(), rules: [] };
  const signingSecret = env.AUTH_SIGNING_SECRET || undefined;
  if (configured && !signingSecret) throw new Error("AUTH_CONFIG is set but AUTH_SIGNING_SECRET is not: tokens cannot be signed");
  if (signingSecret && signingSecret.length < 32) throw new Error("AUTH_SIGNING_SECRET must be at least 32 characters");
  const ttl = env.AUTH_TOKEN_TTL_SECONDS ? Number(env.AUTH_TOKEN_TTL_SECONDS) : DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl < 1) throw new Error("AUTH_TOKEN_TTL_SECONDS must be a positive integer");
  const iterations = Math.max(DEFAULT_ITERATIONS, ...[...users.values()].map((h) => h.iterations));
  return {
    configured,
    users,
    rules,
    unknownUser: dummyHash(iterations),
    anonymousPush: env.AUTH_ANONYMOUS_PUSH === "true",
    signingSecret,
    service: env.AUTH_SERVICE || DEFAULT_SERVICE,
    tokenTtlSeconds: ttl,
    revoked: new Set((env.AUTH_REVOKED_TOKENS ?? "").split(/[\s,]+/).filter(Boolean)),
  };
}

function parseAuthConfig(text: string): { users: Map<string, PasswordHash>; rules: Rule[] } {
  let doc: { users?: unknown; rules?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`AUTH_CONFIG is not JSON: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== "object") throw new Error("AUTH_CONFIG must be a JSON object with users and rules");
  const users = new Map<string, PasswordHash>();
  for (const [name, hash] of Object.entries((doc.users ?? {}) as Record<string, unknown>)) {
    if (!USER_RE.test(name) || name === ANONYMOUS) throw new Error(`AUTH_CONFIG: invalid user name ${JSON.stringify(name)}`);
    if (typeof hash !== "string") throw new Error(`AUTH_CONFIG: user ${name} needs a password hash string`);
    try {
      users.set(name, parsePasswordHash(hash));
    } catch (e) {
      throw new Error(`AUTH_CONFIG: user ${name}: ${(e as Error).message}`);
    }
  }
  if (!Array.isArray(doc.rules ?? [])) throw new Error("AUTH_CONFIG: rules must be a list");
  const rules = ((doc.rules ?? []) as unknown[]).map((r, i) => parseRule(r, i, users));
  return { users, rules };
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new Error(`${what} must be a list of strings`);
  return v as string[];
}

function parseRule(raw: unknown, i: number, users: Map<string, PasswordHash>): Rule {
  const where = `AUTH_CONFIG: rules[${i}]`;
  if (!raw || typeof raw !== "object") throw new Error(`${where} must be an object`);
  const r = raw as { users?: unknown; repositories?: unknown; actions?: unknown };
  const who = stringList(r.users, `${where}.users`);
  const repos = stringList(r.repositories, `${where}.repositories`);
  const actionNames = stringList(r.actions, `${where}.actions`);
  if (!who.length) throw new Error(`${where} names no users ("anonymous", "*" or user names)`);
  for (const u of who) if (u !== ANONYMOUS && u !== ANY_USER && !users.has(u)) throw new Error(`${where}: unknown user ${u}`);
  for (const a of actionNames) {
    if (a !== "*" && a !== "catalog" && a !== "gc" && !(REPO_ACTIONS as readonly string[]).includes(a)) throw new Error(`${where}: unknown action ${a}`);
  }
  for (const p of repos) if (!isValidPattern(p)) throw new Error(`${where}: invalid repository pattern ${p}`);
  const actions = repoActions(actionNames);
  if (actions.size && !repos.length) throw new Error(`${where} grants ${[...actions]} but names no repositories`);
  return { users: new Set(who), grant: repos.map((pattern) => ({ pattern, actions })), catalog: actionNames.includes("catalog"), gc: actionNames.includes("gc") };
}

/** What the rules allow one caller: `user` undefined for anonymous callers. */
export function rulesFor(settings: AuthSettings, user: string | undefined): Permissions {
  const grants: Grant[] = [];
  let catalog = false;
  let gc = false;
  for (const r of settings.rules) {
    if (r.users.has(ANONYMOUS) || (user !== undefined && (r.users.has(ANY_USER) || r.users.has(user)))) {
      grants.push(...r.grant);
      catalog ||= r.catalog;
      gc ||= r.gc;
    }
  }
  return { grants, catalog, gc };
}
