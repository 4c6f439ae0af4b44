/**
 * What a caller may do, in one shape for every kind of caller: a list of grants (a repository pattern and
 * the actions allowed on the repositories it matches) plus the registry-wide flags: the catalog, and gc (start and read garbage collection runs, /_wharf/gc).
 *
 * Patterns: a repository name, where `*` stands for any run of characters, "/" included (`team/*` matches
 * `team/app` and `team/a/b`, not `team`; `*` matches every repository). The same matcher serves rules,
 * CI tokens (patterns) and access tokens (exact names: a valid name has no `*`).
 *
 * Token wire form (Docker's `access` claim): `[{type: "repository", name, actions}]`, the catalog as
 * `{type: "registry", name: "catalog", actions: ["*"]}`, gc as `{type: "registry", name: "gc", actions: ["*"]}`.
 */
import { isValidName } from "../../oci/grammar";

export type RepoAction = "pull" | "push" | "delete";
export const REPO_ACTIONS: readonly RepoAction[] = ["pull", "push", "delete"];

export interface Grant {
  pattern: string;
  actions: ReadonlySet<RepoAction>;
}

export interface Permissions {
  grants: readonly Grant[];
  catalog: boolean;
  /** May start garbage collection runs and read their reports (`gc` in rules and tokens). */
  gc?: boolean;
}

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export const NOTHING: Permissions = { grants: [], catalog: false };
export const EVERYTHING: Permissions = { grants: [{ pattern: "*", actions: new Set(REPO_ACTIONS) }], catalog: true, gc: true };

const PATTERN_RE = /^[a-z0-9._/*-]+$/;

export function isValidPattern(p: string): boolean {
  return p.length <= 255 && PATTERN_RE.test(p);
}

const compiled = new Map<string, RegExp>();

export function matches(pattern: string, repo: string): boolean {
  if (!pattern.includes("*")) return pattern === repo;
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.]/g, "\\.")).join(".*")}$`);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re.test(repo);
}

/** Actions the permissions allow on one repository. */
export function actionsOn(p: Permissions, repo: string): Set<RepoAction> {
  const out = new Set<RepoAction>();
  for (const g of p.grants) if (matches(g.pattern, repo)) for (const a of g.actions) out.add(a);
  return out;
}

/** Is `action` allowed on every repository, present and future (a grant on `*`)? */
export function allowedEverywhere(p: Permissions, action: RepoAction): boolean {
  return p.grants.some((g) => g.pattern === "*" && g.actions.has(action));
}

export function union(...ps: Permissions[]): Permissions {
  return { grants: ps.flatMap((p) => p.grants), catalog: ps.some((p) => p.catalog), gc: ps.some((p) => p.gc) };
}

/** Parse action names ("*" = pull, push and delete); unknown names are ignored. */
export function repoActions(names: Iterable<string>): Set<RepoAction> {
  const out = new Set<RepoAction>();
  for (const n of names) {
    if (n === "*") REPO_ACTIONS.forEach((a) => out.add(a));
    else if ((REPO_ACTIONS as readonly string[]).includes(n)) out.add(n as RepoAction);
  }
  return out;
}

/** Docker scope strings (`repository:team/app:pull,push`, `registry:catalog:*`), several per value allowed. */
export function parseScopes(values: string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const value of values) {
    for (const scope of value.split(" ")) {
      const first = scope.indexOf(":");
      const last = scope.lastIndexOf(":");
      if (first < 0 || last === first) continue;
      const type = scope.slice(0, first).replace(/\(.*\)$/, ""); // "repository(plugin)" is a repository
      const name = scope.slice(first + 1, last);
      const actions = scope.slice(last + 1).split(",").filter(Boolean);
      out.push({ type, name, actions });
    }
  }
  return out;
}

/** What to put in a token asked for `requested` by a caller with `allowed`: the intersection, per entry. */
export function grantRequested(allowed: Permissions, requested: AccessEntry[]): AccessEntry[] {
  const byName = new Map<string, Set<RepoAction>>();
  let catalog = false;
  let gc = false;
  for (const r of requested) {
    if (r.type === "registry" && r.name === "catalog") {
      catalog ||= allowed.catalog && (r.actions.includes("*") || r.actions.includes("catalog"));
      continue;
    }
    if (r.type === "registry" && r.name === "gc") {
      gc ||= !!allowed.gc && (r.actions.includes("*") || r.actions.includes("gc"));
      continue;
    }
    if (r.type !== "repository" || !isValidName(r.name)) continue;
    const may = actionsOn(allowed, r.name);
    const got = byName.get(r.name) ?? new Set<RepoAction>();
    for (const a of repoActions(r.actions)) if (may.has(a)) got.add(a);
    byName.set(r.name, got);
  }
  const out: AccessEntry[] = [];
  for (const [name, actions] of byName) {
    if (actions.size) out.push({ type: "repository", name, actions: REPO_ACTIONS.filter((a) => actions.has(a)) });
  }
  if (catalog) out.push({ type: "registry", name: "catalog", actions: ["*"] });
  if (gc) out.push({ type: "registry", name: "gc", actions: ["*"] });
  return out;
}

/** Read an `access` claim back (from an access token or a CI token); anything malformed grants nothing. */
export function fromAccessClaim(claim: unknown, allowPatterns: boolean): Permissions {
  if (!Array.isArray(claim)) return NOTHING;
  const grants: Grant[] = [];
  let catalog = false;
  let gc = false;
  for (const e of claim as Partial<AccessEntry>[]) {
    if (!e || typeof e.name !== "string" || !Array.isArray(e.actions)) continue;
    if (e.type === "registry" && e.name === "catalog") {
      catalog ||= e.actions.includes("*");
    } else if (e.type === "registry" && e.name === "gc") {
      gc ||= e.actions.includes("*");
    } else if (e.type === "repository" && (allowPatterns ? isValidPattern(e.name) : isValidName(e.name))) {
      grants.push({ pattern: e.name, actions: repoActions(e.actions.filter((a) => typeof a === "string")) });
    }
  }
  return { grants, catalog, gc };
}

/** The wire form of permissions (for CI tokens, whose names are patterns). */
export function toAccessClaim(p: Permissions): AccessEntry[] {
  const out: AccessEntry[] = p.grants.map((g) => ({
    type: "repository",
    name: g.pattern,
    actions: REPO_ACTIONS.filter((a) => g.actions.has(a)),
  }));
  if (p.catalog) out.push({ type: "registry", name: "catalog", actions: ["*"] });
  if (p.gc) out.push({ type: "registry", name: "gc", actions: ["*"] });
  return out;
}
