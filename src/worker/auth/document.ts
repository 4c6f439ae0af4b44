/**
 * AUTH_CONFIG's document: users (password hashes) and rules, checked when the setting is parsed
 * (src/worker/settings.ts). The shape is described in src/worker/auth/settings.ts.
 */
import { type Grant, isValidPattern, REPO_ACTIONS, repoActions } from "./grants";
import { type PasswordHash, parsePasswordHash } from "./password";

export interface Rule {
  users: ReadonlySet<string>;
  grant: Grant[];
  catalog: boolean;
}

export interface AuthDocument {
  users: ReadonlyMap<string, PasswordHash>;
  rules: readonly Rule[];
}

export const ANONYMOUS = "anonymous";
export const ANY_USER = "*";
const USER_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** Validator of AUTH_CONFIG's JSON value. */
export function parseAuthDocument(raw: unknown): AuthDocument {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error("must be a JSON object with users and rules");
  const doc = raw as { users?: unknown; rules?: unknown };
  const users = new Map<string, PasswordHash>();
  for (const [name, hash] of Object.entries((doc.users ?? {}) as Record<string, unknown>)) {
    if (!USER_RE.test(name) || name === ANONYMOUS) throw new Error(`invalid user name ${JSON.stringify(name)}`);
    if (typeof hash !== "string") throw new Error(`user ${name} needs a password hash string`);
    try {
      users.set(name, parsePasswordHash(hash));
    } catch (e) {
      throw new Error(`user ${name}: ${(e as Error).message}`);
    }
  }
  if (!Array.isArray(doc.rules ?? [])) throw new Error("rules must be a list");
  const rules = ((doc.rules ?? []) as unknown[]).map((r, i) => parseRule(r, i, users));
  return { users, rules };
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new Error(`${what} must be a list of strings`);
  return v as string[];
}

function parseRule(raw: unknown, i: number, users: Map<string, PasswordHash>): Rule {
  const where = `rules[${i}]`;
  if (!raw || typeof raw !== "object") throw new Error(`${where} must be an object`);
  const r = raw as { users?: unknown; repositories?: unknown; actions?: unknown };
  const who = stringList(r.users, `${where}.users`);
  const repos = stringList(r.repositories, `${where}.repositories`);
  const actionNames = stringList(r.actions, `${where}.actions`);
  if (!who.length) throw new Error(`${where} names no users ("anonymous", "*" or user names)`);
  for (const u of who) if (u !== ANONYMOUS && u !== ANY_USER && !users.has(u)) throw new Error(`${where}: unknown user ${u}`);
  for (const a of actionNames) {
    if (a !== "*" && a !== "catalog" && !(REPO_ACTIONS as readonly string[]).includes(a)) throw new Error(`${where}: unknown action ${a}`);
  }
  for (const p of repos) if (!isValidPattern(p)) throw new Error(`${where}: invalid repository pattern ${p}`);
  const actions = repoActions(actionNames);
  if (actions.size && !repos.length) throw new Error(`${where} grants ${[...actions]} but names no repositories`);
  return { users: new Set(who), grant: repos.map((pattern) => ({ pattern, actions })), catalog: actionNames.includes("catalog") };
}

