/**
 * Blobs of a proxied repository. Linked in the cache repository → served exactly as a local blob (signed
 * redirect or stream), Wharf-Cache: hit. Bytes already in the content store (pushed locally, or cached
 * through another upstream or repository) → one HEAD upstream confirms this upstream repository has the
 * blob, then it is linked (hit). Otherwise a HEAD is answered from the upstream's HEAD (nothing stored),
 * and a GET goes through the BlobFill Durable Object of that digest (fill.ts has the protocol): the first
 * requester streams the bytes as they are fetched and stored, everyone else waits and reads R2 (miss).
 */
import { contentCache } from "../cache/content-cache";
import type { Env } from "../config";
import { RegistryError } from "../errors";
import type { Digest } from "../../oci/grammar";
import type { Handler, RequestContext } from "../http/context";
import { notFoundUpstream, upstreamFailure } from "./failures";
import { type FillAnswer, type FillRequest, type FillResult, fromWire } from "./fill";
import { CACHE_HEADER, withCacheStatus } from "./manifests";
import type { ProxyTarget } from "./resolve";
import { UpstreamRegistry } from "./upstream";

export async function proxyBlob(c: RequestContext, t: ProxyTarget, digest: Digest, local: Handler): Promise<Response> {
  const asLocal = async () => local({ ...c, name: t.cacheRepo });
  const what = `blob ${t.repo}@${digest}`;
  const blobs = c.storage.blobs;
  const up = new UpstreamRegistry(t.upstream);
  // A GET that misses goes straight to the fill: its object looks at the content index first (one R2
  // read per cold blob less than looking here too). Bytes it finds there, or a fill another request
  // led, are then linked here once this upstream repository is known to have them.
  let asked = false;
  let fetched = false;
  for (let pass = 0; pass < 3; pass++) {
    // Through the content cache, as the local handler that serves the hit reads it (one lookup, not three).
    const linked = await contentCache.blob(c.settings.CONTENT_CACHE_SECONDS, t.cacheRepo, digest, () => blobs.statInRepo(t.cacheRepo, digest), (p) => c.waitUntil(p));
    if (linked) return withCacheStatus(await asLocal(), fetched ? "miss" : "hit");
    if (c.request.method === "HEAD" || asked) {
      if (await blobs.stat(digest)) {
        await upstreamSize(t, up, digest, what); // this upstream repository has it too
        await blobs.link(t.cacheRepo, digest);
        continue;
      }
      if (c.request.method === "HEAD") return headFromUpstream(t, up, digest, what);
      throw new RegistryError("UPSTREAM_INVALID", `${what} was filled but is not in the content store`);
    }
    asked = true;
    const answer = await fillBlob(c.env, {
      digest: digest.toString(),
      prefix: t.upstream.prefix,
      repo: t.repo,
      cacheRepo: t.cacheRepo,
      attach: !c.request.headers.has("Range"),
    });
    if (answer.kind === "stream") return streamed(digest, answer);
    fetched = !answer.already;
  }
  throw new RegistryError("UPSTREAM_INVALID", `${what} was linked but cannot be found`);
}

/** The blob's size by the upstream's HEAD; its refusal or absence as the mapped OCI error. */
async function upstreamSize(t: ProxyTarget, up: UpstreamRegistry, digest: Digest, what: string): Promise<number> {
  let size: number | null;
  try {
    size = await up.headBlob(t.repo, digest.toString());
  } catch (e) {
    throw upstreamFailure(t.upstream, e, "blob", what);
  }
  if (size === null) throw notFoundUpstream(t.upstream, "blob", what);
  return size;
}

async function headFromUpstream(t: ProxyTarget, up: UpstreamRegistry, digest: Digest, what: string): Promise<Response> {
  const size = await upstreamSize(t, up, digest, what);
  return new Response(null, {
    status: 200,
    headers: {
      "Content-Type": "application/octet-stream",
      "Docker-Content-Digest": digest.toString(),
      "Content-Length": String(size),
      [CACHE_HEADER]: "miss",
    },
  });
}

function streamed(digest: Digest, answer: Extract<FillAnswer, { kind: "stream" }>): Response {
  const headers = new Headers({
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest.toString(),
    ETag: `"${digest}"`,
    "Cache-Control": "public, max-age=31536000, immutable",
    [CACHE_HEADER]: "miss",
  });
  // A fill that fails ends this stream early, perhaps as a plain end (fill.ts): the fixed length makes
  // that a broken body, never a complete-looking one.
  headers.set("Content-Length", String(answer.size));
  const sized = new FixedLengthStream(answer.size);
  answer.body.pipeTo(sized.writable).catch(() => undefined);
  return new Response(sized.readable, { status: 200, headers });
}

/** Ask the digest's BlobFill object (fill.ts) to fill it. */
export async function fillBlob(env: Env, req: FillRequest): Promise<FillAnswer> {
  const stub = env.FILLS.get(env.FILLS.idFromName(req.digest));
  const r = (await stub.fill(req)) as FillResult;
  if (r.ok) return r.value;
  throw fromWire(r.error);
}
