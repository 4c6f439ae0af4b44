/**
 * What a client gets when the upstream fails and nothing cached can serve:
 *   404 → MANIFEST_UNKNOWN / BLOB_UNKNOWN / NAME_UNKNOWN (tags);
 *   401, 403 → DENIED, saying which upstream refused (Wharf's credentials for it, not the caller's);
 *   429 → TOOMANYREQUESTS with the upstream's Retry-After;
 *   unreachable, 5xx, anything else → UPSTREAM_UNAVAILABLE (502) naming the upstream.
 */
import { asRegistryError, RegistryError } from "../errors";
import { UpstreamError } from "./upstream";
import { describeUpstream, type Upstream } from "./upstreams";

export type Subject = "manifest" | "blob" | "tags";

const UNKNOWN = { manifest: "MANIFEST_UNKNOWN", blob: "BLOB_UNKNOWN", tags: "NAME_UNKNOWN" } as const;

export function notFoundUpstream(u: Upstream, subject: Subject, what: string): RegistryError {
  return new RegistryError(UNKNOWN[subject], `${what} not found on upstream ${describeUpstream(u)}`, { upstream: u.prefix });
}

export function upstreamFailure(u: Upstream, err: unknown, subject: Subject, what: string): RegistryError {
  const known = asRegistryError(err);
  if (known) return known;
  const up = describeUpstream(u);
  if (!(err instanceof UpstreamError)) {
    return new RegistryError("UPSTREAM_UNAVAILABLE", `fetching ${what} from upstream ${up} failed: ${(err as Error)?.message ?? err}`, { upstream: u.prefix });
  }
  const detail = { upstream: u.prefix, status: err.status };
  switch (err.status) {
    case 404:
      return notFoundUpstream(u, subject, what);
    case 401:
    case 403:
      return new RegistryError("DENIED", `upstream ${up} refused access to ${what} (check the upstream's credentials in UPSTREAMS): ${err.message}`, detail);
    case 429:
      return new RegistryError("TOOMANYREQUESTS", `upstream ${up} is rate-limiting Wharf and ${what} is not cached: ${err.message}`, detail,
        err.retryAfter ? { "Retry-After": err.retryAfter } : {});
    case null:
      return new RegistryError("UPSTREAM_UNAVAILABLE", `upstream ${up} is unreachable and ${what} is not cached: ${err.message}`, detail);
    default:
      return new RegistryError("UPSTREAM_UNAVAILABLE", `upstream ${up} failed (HTTP ${err.status}) and ${what} is not cached: ${err.message}`, detail);
  }
}

export function lyingUpstream(u: Upstream, what: string, why: string): RegistryError {
  return new RegistryError("UPSTREAM_INVALID", `upstream ${describeUpstream(u)} sent ${what} that ${why}; nothing was stored`, { upstream: u.prefix });
}
