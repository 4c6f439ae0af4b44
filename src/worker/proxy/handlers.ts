/**
 * Pull-through cache (this folder): Wharf stores what it fetched from upstream registries in R2 and goes
 * upstream only when it must. This module is its seam with the router: a route's local handler is wrapped
 * so that a repository name that belongs to an upstream (resolve.ts) is served by the proxy instead, and
 * pushes and deletes under a proxy prefix are refused with an error that says the repository is a cache.
 *
 *   upstreams.ts    the UPSTREAMS setting            resolve.ts   name → upstream, repository, cache repository
 *   upstream.ts     client for one upstream          failures.ts  upstream failures → OCI errors
 *   manifests.ts    by digest; by tag with TTL, HEAD revalidation and stale serving
 *   blobs.ts        hits, links, and misses through fill.ts (BlobFill Durable Object per digest:
 *                   protocol in its header), blob-writer.ts, client-feed.ts
 *   tags.ts         upstream tag lists            records.ts   tag checks, tag lists, last pulls (for GC)
 */
import { parseDigest, parseManifestReference } from "../../oci/grammar";
import type { Handler, RequestContext } from "../http/context";
import { proxyBlob } from "./blobs";
import { proxyManifest, refuseWrite } from "./manifests";
import { mirrorTarget, prefixTarget, type ProxyTarget } from "./resolve";
import { proxyTags } from "./tags";

type Kind = "manifest" | "blob" | "tags";

/**
 * The upstream a request's repository belongs to, or null for a local repository. Under a prefix: always
 * the proxy. Otherwise the mirror, unless the name is a local repository (in the catalog, or, for blobs,
 * holding that blob: a push in progress has no manifest yet).
 */
export async function proxyTargetFor(c: RequestContext, kind: Kind): Promise<ProxyTarget | null> {
  if (!c.name) return null;
  const upstreams = c.settings.UPSTREAMS;
  if (!upstreams.length) return null;
  const t = prefixTarget(upstreams, c.name);
  if (t) return t;
  if (!upstreams.some((u) => u.mirror)) return null;
  if (await c.storage.catalog.has(c.name)) return null;
  if (kind === "blob" && (await c.storage.blobs.statInRepo(c.name, parseDigest(c.params.digest)))) return null;
  return mirrorTarget(upstreams, c.name);
}

/**
 * Where the blobs of `name` are linked: a proxied name's cache repository (a mirror name such as
 * `library/alpine` keeps its cache under the mirror's prefix), else the name itself. A mount from a
 * proxied repository reads its links there.
 */
export async function linkedNameOf(c: RequestContext, name: string): Promise<string> {
  const upstreams = c.settings.UPSTREAMS;
  if (!upstreams.length) return name;
  const t = prefixTarget(upstreams, name);
  if (t) return t.cacheRepo;
  if (!upstreams.some((u) => u.mirror) || (await c.storage.catalog.has(name))) return name;
  return mirrorTarget(upstreams, name)?.cacheRepo ?? name;
}

const via = (kind: Kind, local: Handler, proxied: (c: RequestContext, t: ProxyTarget) => Promise<Response>): Handler =>
  async (c) => {
    const t = await proxyTargetFor(c, kind);
    return t ? proxied(c, t) : local(c);
  };

/** Manifest GET/HEAD: local, or through the cache. */
export const viaProxyManifest = (local: Handler): Handler =>
  via("manifest", local, (c, t) => proxyManifest(c, t, parseManifestReference(c.params.reference)));

/** Blob GET/HEAD: local, or through the cache (a hit is served by `local` in the cache repository). */
export const viaProxyBlob = (local: Handler): Handler => via("blob", local, (c, t) => proxyBlob(c, t, parseDigest(c.params.digest), local));

/** Tag list: local, or the upstream's (cached for the TTL). */
export const viaProxyTags = (local: Handler): Handler => via("tags", local, proxyTags);

/** Push and delete routes: refused under a proxy prefix (mirror names are local for writes). */
export const refusedInCache = (local: Handler): Handler => async (c) => {
  const upstreams = c.name ? c.settings.UPSTREAMS : [];
  const owner = upstreams.find((u) => c.name.startsWith(`${u.prefix}/`));
  if (owner) throw refuseWrite({ upstream: owner, repo: c.name.slice(owner.prefix.length + 1), cacheRepo: c.name }, c.name);
  return local(c);
};
