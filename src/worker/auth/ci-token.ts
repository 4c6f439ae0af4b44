/**
 * Long-lived scoped tokens for CI, minted offline with the registry's AUTH_SIGNING_SECRET (whoever holds
 * that secret can mint any token, so it is the registry's root credential: keep it in a secret store).
 *
 * A CI token is a JWT (`kind: "ci"`) naming repository patterns and actions; it is used as the password
 * with any user name (`docker login -u ci -p <token>`, `skopeo --creds ci:<token>`). It grants exactly
 * what it names (plus what anonymous callers may do), independent of AUTH_CONFIG's rules.
 *
 * Revocation: add the token's id to AUTH_REVOKED_TOKENS (comma or space separated). A list in a
 * setting, not in R2, because: the registry keeps no record of offline-minted tokens anyway; checking a
 * setting costs nothing per request, while an R2 read would add a subrequest (and latency) to every
 * request that carries the token; and a secret update reaches every isolate at once without an admin
 * API that would itself need protecting. The list only needs ids of tokens not yet expired.
 */
import { isValidPattern, type Permissions, REPO_ACTIONS, repoActions, toAccessClaim } from "./grants";
import { newTokenId, signToken } from "./tokens";
import { SETTINGS } from "../settings";

export interface CiTokenRequest {
  repositories: string[];
  /** pull, push, delete, "*", catalog */
  actions: string[];
  ttlSeconds: number;
  /** Must equal the registry's AUTH_SERVICE. */
  service?: string;
  /** A label for people (goes into `sub`); the id is what revocation uses. */
  name?: string;
  now?: number;
}

export interface CiToken {
  token: string;
  id: string;
  expiresAt: Date;
  permissions: Permissions;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/** "30d", "12h", "90m", "3600s", "3600" → seconds. */
export function parseTtl(s: string): number {
  const m = /^(\d+)([smhdwy]?)$/.exec(s.trim());
  const n = m ? Number(m[1]) * UNITS[m[2] || "s"] : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`invalid TTL ${JSON.stringify(s)}: use e.g. 3600, 90m, 12h, 30d, 1y`);
  return n;
}

export async function mintCiToken(secret: string, req: CiTokenRequest): Promise<CiToken> {
  if (!secret || secret.length < 32) throw new Error("the signing secret (AUTH_SIGNING_SECRET) must be at least 32 characters");
  for (const a of req.actions) {
    if (a !== "*" && a !== "catalog" && !(REPO_ACTIONS as readonly string[]).includes(a)) throw new Error(`unknown action ${a}`);
  }
  const actions = repoActions(req.actions);
  if (actions.size && !req.repositories.length) throw new Error("name at least one repository pattern (--repo)");
  if (!actions.size && !req.actions.includes("catalog")) throw new Error("name at least one action (--actions pull,push)");
  for (const p of req.repositories) if (!isValidPattern(p)) throw new Error(`invalid repository pattern ${p}`);
  if (!Number.isSafeInteger(req.ttlSeconds) || req.ttlSeconds <= 0) throw new Error("TTL must be a positive number of seconds");
  const permissions: Permissions = {
    grants: actions.size ? req.repositories.map((pattern) => ({ pattern, actions })) : [],
    catalog: req.actions.includes("catalog"),
  };
  const service = req.service || SETTINGS.AUTH_SERVICE.default;
  const iat = Math.floor(req.now ?? Date.now() / 1000);
  const id = newTokenId();
  const token = await signToken(secret, {
    iss: service,
    aud: service,
    sub: `ci:${req.name || id}`,
    jti: id,
    iat,
    exp: iat + req.ttlSeconds,
    kind: "ci",
    access: toAccessClaim(permissions),
  });
  return { token, id, expiresAt: new Date((iat + req.ttlSeconds) * 1000), permissions };
}
