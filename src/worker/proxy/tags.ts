/**
 * The tag list of a proxied repository comes from the upstream (every page, up to MAX_TAGS), cached in R2
 * for the upstream's tag TTL and served with the usual `n`/`last` pagination. Upstream down → the cached
 * list (stale).
 */
import type { RequestContext } from "../http/context";
import { linkHeader, readPage } from "../http/pagination";
import { upstreamFailure, notFoundUpstream } from "./failures";
import { CACHE_HEADER, type CacheStatus } from "./manifests";
import { ProxyRecords } from "./records";
import type { ProxyTarget } from "./resolve";
import { UpstreamRegistry } from "./upstream";
import { describeUpstream } from "./upstreams";

export const MAX_TAGS = 100_000;

export async function proxyTags(c: RequestContext, t: ProxyTarget): Promise<Response> {
  const { n, last } = readPage(c.url, Infinity);
  const records = new ProxyRecords(c.env.BUCKET);
  const cached = await records.tagList(t.cacheRepo);
  let tags: string[];
  let status: CacheStatus;
  if (cached && Date.now() - cached.checkedAt < t.upstream.tagTtlSeconds * 1000) {
    tags = cached.tags;
    status = "hit";
  } else {
    try {
      const fetched = await new UpstreamRegistry(t.upstream).tags(t.repo, MAX_TAGS);
      if (fetched === null) throw notFoundUpstream(t.upstream, "tags", `repository ${t.repo}`);
      tags = [...new Set(fetched)].sort();
      status = "miss";
      await records.putTagList(t.cacheRepo, tags);
    } catch (e) {
      if (!cached) throw upstreamFailure(t.upstream, e, "tags", `tags of ${t.repo}`);
      console.warn(JSON.stringify({ msg: "proxy: serving stale tag list", upstream: describeUpstream(t.upstream), repository: t.cacheRepo, reason: String((e as Error)?.message ?? e) }));
      tags = cached.tags;
      status = "stale";
    }
  }
  const after = last === undefined ? tags : tags.filter((x) => x > last);
  const page = n === Infinity ? after : after.slice(0, n);
  const headers = new Headers({ "Content-Type": "application/json", [CACHE_HEADER]: status });
  if (page.length < after.length && page.length > 0) headers.set("Link", linkHeader(`/v2/${c.name}/tags/list`, n, page[page.length - 1]));
  return new Response(JSON.stringify({ name: c.name, tags: page }), { headers });
}
