/**
 * Manifests of a proxied repository.
 *
 * By digest: served from the cache repository when there; otherwise fetched upstream once, checked
 * against the digest, stored (without a tag) and kept. Children of an index are fetched the same way
 * when clients ask for them. Content addressed by digest also goes through the edge cache.
 *
 * By tag: served from R2 while the tag was checked upstream less than `tagTtlSeconds` ago (Wharf-Cache:
 * hit). After that, one HEAD goes upstream (on Docker Hub a HEAD does not count as a pull): same digest →
 * the check time is renewed and the cached copy served (hit); a new digest → the manifest is fetched by
 * digest, stored, the tag moved (miss). When the upstream fails or cannot be reached, the cached copy is
 * served (Wharf-Cache: stale) and a log line says so. A HEAD by tag on a cold cache fetches and stores the
 * manifest (the GET by digest that follows in every client is then a hit).
 */
import { RegistryError } from "../errors";
import { type Digest, digestOf, parseDigest, type ManifestReference } from "../../oci/grammar";
import { parseManifest } from "../../oci/manifest";
import type { ManifestContent, ManifestInfo } from "../storage/manifests";
import type { RequestContext } from "../http/context";
import { edgeCacheKey, fromEdgeCache, toEdgeCache } from "../http/edge-cache";
import { lyingUpstream, notFoundUpstream, upstreamFailure } from "./failures";
import { contentCache } from "../cache/content-cache";
import { ProxyRecords } from "./records";
import type { ProxyTarget } from "./resolve";
import { UpstreamRegistry, type UpstreamManifest } from "./upstream";
import { describeUpstream } from "./upstreams";

export type CacheStatus = "hit" | "miss" | "stale";
export const CACHE_HEADER = "Wharf-Cache";

export async function proxyManifest(c: RequestContext, t: ProxyTarget, ref: ManifestReference): Promise<Response> {
  const res = ref.digest ? await byDigest(c, t, ref.digest) : await byTag(c, t, ref.tag);
  return res;
}

async function byDigest(c: RequestContext, t: ProxyTarget, digest: Digest): Promise<Response> {
  const head = c.request.method === "HEAD";
  const key = edgeCacheKey(c.url, `manifests/${t.cacheRepo}/${digest}`);
  if (!head) {
    const edge = await fromEdgeCache(key);
    if (edge) {
      recordPull(c, t, digest);
      return withCacheStatus(edge, "hit");
    }
  }
  const store = c.storage.manifests;
  const cached = head ? await store.stat(t.cacheRepo, digest) : await store.get(t.cacheRepo, digest);
  if (cached) {
    if (!head) {
      recordPull(c, t, digest);
      c.waitUntil(toEdgeCache(key, manifestResponse({ ...cached, bytes: (cached as ManifestContent).bytes.slice(0) }, true, "hit")));
    }
    return manifestResponse(cached, true, "hit", head);
  }
  const up = new UpstreamRegistry(t.upstream);
  let fetched: UpstreamManifest | null;
  try {
    fetched = await up.getManifest(t.repo, digest.toString());
  } catch (e) {
    throw upstreamFailure(t.upstream, e, "manifest", `manifest ${t.repo}@${digest}`);
  }
  if (!fetched) throw notFoundUpstream(t.upstream, "manifest", `manifest ${t.repo}@${digest}`);
  const actual = await digestOf(fetched.bytes, digest.algorithm);
  if (actual.toString() !== digest.toString()) throw lyingUpstream(t.upstream, `manifest ${t.repo}@${digest}`, `has digest ${actual}`);
  const content = await store_(c, t, digest, fetched);
  if (!head) recordPull(c, t, digest);
  return manifestResponse(content, true, "miss", head);
}

async function byTag(c: RequestContext, t: ProxyTarget, tag: string): Promise<Response> {
  const head = c.request.method === "HEAD";
  const store = c.storage.manifests;
  const records = new ProxyRecords(c.env.BUCKET);
  const [check, cached] = await Promise.all([
    records.tagCheck(t.cacheRepo, tag),
    head
      ? store.statTag(t.cacheRepo, tag)
      : contentCache.manifestByTag(c.settings.CONTENT_CACHE_SECONDS, t.cacheRepo, tag, store),
  ]);
  const ttlMs = t.upstream.tagTtlSeconds * 1000;
  const serve = (m: ManifestInfo | ManifestContent, status: CacheStatus) => {
    if (!head) recordPull(c, t, m.digest);
    return manifestResponse(m, false, status, head);
  };
  if (cached && check && check.digest.toString() === cached.digest.toString() && Date.now() - check.checkedAt < ttlMs) {
    return serve(cached, "hit");
  }
  const up = new UpstreamRegistry(t.upstream);
  const what = `manifest ${t.repo}:${tag}`;
  let moved: string | null = null;
  if (cached) {
    let info;
    try {
      info = await up.headManifest(t.repo, tag);
    } catch (e) {
      return serveStale(c, t, tag, e, () => serve(cached, "stale"));
    }
    if (!info) throw notFoundUpstream(t.upstream, "manifest", what);
    if (info.digest === cached.digest.toString()) {
      await records.markTagChecked(t.cacheRepo, tag, cached.digest);
      return serve(cached, "hit");
    }
    moved = info.digest; // may be null: the upstream sent no digest on HEAD, so fetch by tag
  }
  let fetched: UpstreamManifest | null;
  try {
    fetched = await up.getManifest(t.repo, moved ?? tag);
  } catch (e) {
    if (cached) return serveStale(c, t, tag, e, () => serve(cached, "stale"));
    throw upstreamFailure(t.upstream, e, "manifest", what);
  }
  if (!fetched) throw notFoundUpstream(t.upstream, "manifest", what);
  const claimed = moved ?? fetched.claimedDigest;
  const digest = claimed ? parseClaimed(t, what, claimed) : await digestOf(fetched.bytes);
  const actual = await digestOf(fetched.bytes, digest.algorithm);
  if (actual.toString() !== digest.toString()) throw lyingUpstream(t.upstream, what, `has digest ${actual}, not the ${digest} it claimed`);
  const content = await store_(c, t, digest, fetched, tag);
  await records.markTagChecked(t.cacheRepo, tag, digest);
  return serve(content, "miss");
}

function parseClaimed(t: ProxyTarget, what: string, claimed: string): Digest {
  try {
    return parseDigest(claimed);
  } catch {
    throw lyingUpstream(t.upstream, what, `came with an invalid Docker-Content-Digest ${claimed.slice(0, 80)}`);
  }
}

function serveStale(c: RequestContext, t: ProxyTarget, tag: string, err: unknown, serve: () => Response): Response {
  const reason = (err as Error)?.message ?? String(err);
  console.warn(JSON.stringify({ msg: "proxy: serving stale tag", upstream: describeUpstream(t.upstream), repository: t.cacheRepo, tag, reason }));
  return serve();
}

/** Store a fetched manifest (and point `tag` at it). Returns it as content to serve. */
async function store_(c: RequestContext, t: ProxyTarget, digest: Digest, m: UpstreamManifest, tag?: string): Promise<ManifestContent> {
  let facts;
  try {
    facts = parseManifest(m.bytes, m.mediaType);
  } catch (e) {
    throw lyingUpstream(t.upstream, `manifest ${t.repo}@${digest}`, `is not a valid manifest (${(e as Error).message})`);
  }
  // Through the cache repository's object, like a push: it moves the tag in its queue and keeps the
  // repository's summary and tag index (repository/tag-index.ts) with it.
  await c.repositories.putManifest(t.cacheRepo, digest, m.bytes, m.mediaType, tag);
  const bytes = m.bytes.buffer.slice(m.bytes.byteOffset, m.bytes.byteOffset + m.bytes.byteLength) as ArrayBuffer;
  return { digest, mediaType: facts.mediaType, size: m.bytes.byteLength, bytes };
}

function recordPull(c: RequestContext, t: ProxyTarget, digest: Digest): void {
  c.waitUntil(new ProxyRecords(c.env.BUCKET).recordPull(t.cacheRepo, digest).catch((e) => console.error("proxy: recording a pull failed", e)));
}

function manifestResponse(m: ManifestInfo | ManifestContent, byDigest: boolean, status: CacheStatus, head = false): Response {
  const headers = new Headers({
    "Content-Type": m.mediaType,
    "Docker-Content-Digest": m.digest.toString(),
    "Content-Length": String(m.size),
    ETag: `"${m.digest}"`,
    [CACHE_HEADER]: status,
  });
  if (byDigest) headers.set("Cache-Control", "public, max-age=31536000, immutable");
  const body = !head && "bytes" in m ? m.bytes : null;
  return new Response(body, { status: 200, headers });
}

export function withCacheStatus(res: Response, status: CacheStatus): Response {
  const headers = new Headers(res.headers);
  headers.set(CACHE_HEADER, status);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

export function refuseWrite(t: ProxyTarget, name: string): RegistryError {
  return new RegistryError("UNSUPPORTED", `${name} is a pull-through cache of ${t.upstream.url}/${t.repo}: it takes no pushes or deletes`, {
    upstream: t.upstream.prefix,
  });
}
