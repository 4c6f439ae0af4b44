/**
 * What an identified caller may do, and how a refusal is answered.
 *
 * Everyone gets at least what anonymous callers get: the anonymous rules, or without AUTH_CONFIG pull and
 * catalog on every repository (plus push and delete with AUTH_ANONYMOUS_PUSH=true). A user adds the rules
 * that name them; a token adds its `access` claim.
 *
 * Refusals follow Docker's token flow:
 * - anonymous, when tokens can be issued: 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`
 *   so the client fetches a token (or logs in) and retries;
 * - a Bearer token that lacks the action: 401 with `error="insufficient_scope"`, so the client asks for a
 *   token with the right scope;
 * - Basic credentials that are valid but not allowed: 403 DENIED (asking again would not help);
 * - anonymous on a registry that cannot issue tokens (no AUTH_SIGNING_SECRET): 403 DENIED saying how to
 *   configure it.
 */
import { RegistryError } from "../errors";
import { actionsOn, allowedEverywhere, EVERYTHING, type Permissions, type RepoAction, union } from "./grants";
import type { Identity } from "./authenticate";
import { type AuthSettings, rulesFor } from "./settings";

/** What a route needs: see src/worker/router.ts. `login`: anonymous callers are challenged when credentials could matter. */
export type RouteAction = RepoAction | "catalog" | "login" | "none";

export const TOKEN_PATH = "/v2/token";

const READ_EVERYTHING: Permissions = { grants: [{ pattern: "*", actions: new Set<RepoAction>(["pull"]) }], catalog: true };

export function anonymousPermissions(settings: AuthSettings): Permissions {
  if (settings.anonymousPush) return EVERYTHING;
  return settings.configured ? rulesFor(settings, undefined) : READ_EVERYTHING;
}

export function permissionsOf(settings: AuthSettings, identity: Identity): Permissions {
  const p = identity.principal;
  const anonymous = anonymousPermissions(settings);
  if (p.kind === "user") return union(anonymous, rulesFor(settings, p.name));
  if (p.kind === "token") return union(anonymous, p.token.permissions);
  return anonymous;
}

export class Caller {
  readonly permissions: Permissions;

  constructor(
    readonly settings: AuthSettings,
    readonly identity: Identity,
    /** Origin of the request, for the token endpoint's URL in challenges. */
    readonly origin: string,
  ) {
    this.permissions = permissionsOf(settings, identity);
  }

  may(action: RouteAction, repo: string): boolean {
    switch (action) {
      case "none":
        return true;
      case "login":
        return this.identity.via !== "none" || !this.challengesAnonymous() || this.settings.anonymousPush;
      case "catalog":
        return this.permissions.catalog;
      default:
        return actionsOn(this.permissions, repo).has(action);
    }
  }

  /** Could a caller without credentials do this too? If not, the response must not sit in shared caches. */
  anonymousMay(action: RouteAction, repo: string): boolean {
    const anonymous = anonymousPermissions(this.settings);
    if (action === "none" || action === "login") return true;
    if (action === "catalog") return anonymous.catalog;
    return actionsOn(anonymous, repo).has(action);
  }

  /** May the caller do `action` on every repository (automatic cross-repository mount)? */
  mayEverywhere(action: RepoAction): boolean {
    return allowedEverywhere(this.permissions, action);
  }

  /** "user alice", "CI token <id>", "anonymous": for log lines and messages. */
  describe(): string {
    return describe(this.identity);
  }

  /** Throws the refusal for `action` on `repo` unless allowed. */
  authorize(action: RouteAction, repo: string): void {
    if (this.may(action, repo)) return;
    const who = describe(this.identity);
    const what = action === "catalog" ? "list the catalog" : action === "login" ? "use this registry" : `${action} ${repo}`;
    const detail = action === "login" ? null : [{ Type: action === "catalog" ? "registry" : "repository", Name: action === "catalog" ? "catalog" : repo, Action: action }];
    if (this.identity.via === "none") {
      if (!this.challengesAnonymous()) {
        throw new RegistryError(
          "DENIED",
          `anonymous callers may not ${what}: this registry has no authentication configured (set AUTH_CONFIG and AUTH_SIGNING_SECRET, or AUTH_ANONYMOUS_PUSH=true)`,
          detail,
        );
      }
      throw new RegistryError("UNAUTHORIZED", `authentication required to ${what}`, detail, { "WWW-Authenticate": this.challenge(action, repo) });
    }
    if (this.identity.via === "bearer") {
      throw new RegistryError("UNAUTHORIZED", `token does not allow ${who} to ${what}`, detail, {
        "WWW-Authenticate": this.challenge(action, repo, "insufficient_scope"),
      });
    }
    throw new RegistryError("DENIED", `${who} may not ${what}`, detail);
  }

  /** Anonymous callers are sent to the token endpoint only when one exists. */
  challengesAnonymous(): boolean {
    return this.settings.signingSecret !== undefined;
  }

  challenge(action: RouteAction, repo: string, error?: string): string {
    return bearerChallenge(this.settings, this.origin, action, repo, error);
  }
}

export function bearerChallenge(settings: AuthSettings, origin: string, action: RouteAction, repo: string, error?: string): string {
  let h = `Bearer realm="${origin}${TOKEN_PATH}",service="${settings.service}"`;
  const scope = scopeFor(action, repo);
  if (scope) h += `,scope="${scope}"`;
  if (error) h += `,error="${error}"`;
  return h;
}

/** The scope a client should ask for: pushing needs pull too (docker asks "pull,push"). */
export function scopeFor(action: RouteAction, repo: string): string | null {
  switch (action) {
    case "pull":
      return `repository:${repo}:pull`;
    case "push":
      return `repository:${repo}:pull,push`;
    case "delete":
      return `repository:${repo}:delete`;
    case "catalog":
      return "registry:catalog:*";
    default:
      return null;
  }
}

function describe(identity: Identity): string {
  const p = identity.principal;
  if (p.kind === "user") return `user ${p.name}`;
  if (p.kind === "token") return p.token.kind === "ci" ? `CI token ${p.token.id}` : p.token.subject ? `${p.token.subject}` : "anonymous token";
  return "anonymous";
}
