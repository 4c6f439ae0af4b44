/**
 * Which upstream, if any, a requested repository name belongs to.
 *
 * - Prefix: `<prefix>/<rest>` is upstream repository `<rest>` of the upstream with that prefix (the longest
 *   prefix wins; prefixes never nest, see upstreams.ts).
 * - Docker Hub's convention: on an upstream with `library`, a single-component `<rest>` is `library/<rest>`.
 * - Mirror: a name under no prefix is looked up on the mirror upstream, unless it is a local repository
 *   (the caller decides that: see `proxyTargetFor` in handlers.ts). Local repositories always win.
 *
 * The cache of an upstream repository lives in the local repository `<prefix>/<upstream repository>`, so
 * `hub/alpine`, `hub/library/alpine` and a mirror pull of `library/alpine` share one cached copy.
 */
import { RegistryError } from "../errors";
import { isValidName } from "../../oci/grammar";
import { allowsRepository, describeUpstream, type Upstream } from "./upstreams";

export interface ProxyTarget {
  upstream: Upstream;
  /** The repository name on the upstream ("library/alpine"). */
  repo: string;
  /** The local repository that holds the cached copy ("hub/library/alpine"). */
  cacheRepo: string;
}

/** The upstream whose prefix `name` is under, or null. Throws DENIED when its `repositories` exclude the name. */
export function prefixTarget(upstreams: readonly Upstream[], name: string): ProxyTarget | null {
  let best: Upstream | null = null;
  for (const u of upstreams) {
    if (name.startsWith(`${u.prefix}/`) && (!best || u.prefix.length > best.prefix.length)) best = u;
  }
  return best ? target(best, name.slice(best.prefix.length + 1)) : null;
}

/** The mirror's target for a name under no prefix, or null when no upstream is the mirror. */
export function mirrorTarget(upstreams: readonly Upstream[], name: string): ProxyTarget | null {
  const mirror = upstreams.find((u) => u.mirror);
  return mirror ? target(mirror, name) : null;
}

/** The upstream that owns the cache repository `cacheRepo` (an upstream blob fill names it). */
export function upstreamByPrefix(upstreams: readonly Upstream[], prefix: string): Upstream | null {
  return upstreams.find((u) => u.prefix === prefix) ?? null;
}

function target(u: Upstream, rest: string): ProxyTarget {
  const repo = u.library && !rest.includes("/") ? `library/${rest}` : rest;
  const cacheRepo = `${u.prefix}/${repo}`;
  if (!isValidName(cacheRepo)) throw new RegistryError("NAME_INVALID", `cache repository name ${cacheRepo.slice(0, 80)} is too long`);
  if (!allowsRepository(u, repo)) {
    throw new RegistryError("DENIED", `upstream ${describeUpstream(u)} may not be asked for ${repo}: it is not in the upstream's repositories setting`, {
      upstream: u.prefix,
      repository: repo,
    });
  }
  return { upstream: u, repo, cacheRepo };
}
