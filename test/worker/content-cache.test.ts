/**
 * The read cache of content addressed by digest (src/worker/cache/content-cache.ts): answers come from
 * it, deletes take effect at once in this isolate, content removed behind its back (another isolate's
 * delete) is served at most CONTENT_CACHE_SECONDS longer, and access rules are checked on every request.
 * Requests go through the Worker's own fetch (harness `call`) so that the test and the Worker share
 * the cache module and the test can drop this isolate's level to play "another isolate".
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { contentCache, LruTtl } from "../../src/worker/cache/content-cache";
import type { Env } from "../../src/worker/config";
import { parseDigest } from "../../src/oci/grammar";
import { paths } from "../../src/worker/storage/paths";
import { authEnv, basic, call, PASSWORDS } from "./harness";
import { OCI_MANIFEST, pushImage } from "./harness";

const base = (overrides: Record<string, string> = {}) => Object.assign({ ...(env as unknown as Env) }, overrides) as Env;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("LruTtl", () => {
  it("evicts the least recently used entry past its entry and byte bounds, and expires entries", () => {
    const lru = new LruTtl<string>(3, 10);
    lru.set("a", "A", 1, 1000, 0);
    lru.set("b", "B", 1, 1000, 0);
    lru.set("c", "C", 1, 1000, 0);
    expect(lru.get("a", 1)).toBe("A"); // a is now the most recent
    lru.set("d", "D", 1, 1000, 1);
    expect(lru.get("b", 2)).toBeUndefined();
    expect([lru.get("a", 2), lru.get("c", 2), lru.get("d", 2)]).toEqual(["A", "C", "D"]);
    lru.set("big", "X", 9, 1000, 3); // 3 + 9 bytes > 10: the oldest go until it fits
    expect(lru.size).toBe(2);
    expect(lru.get("big", 4)).toBe("X");
    expect(lru.get("big", 1003)).toBeUndefined();
    expect(lru.size).toBe(1);
  });
});

describe("content cache", () => {
  it("answers manifest GET and HEAD by digest with the same bytes and headers, again and again", async () => {
    const e = base();
    const { digest, body } = await pushImage("cache/a", "v1");
    const first = await call(e, "GET", `/v2/cache/a/manifests/${digest}`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(body);
    for (let i = 0; i < 3; i++) {
      const again = await call(e, "GET", `/v2/cache/a/manifests/${digest}`);
      expect(again.status).toBe(200);
      expect(again.headers.get("Content-Type")).toBe(first.headers.get("Content-Type"));
      expect(again.headers.get("Content-Length")).toBe(first.headers.get("Content-Length"));
      expect(await again.text()).toBe(body);
      const head = await call(e, "HEAD", `/v2/cache/a/manifests/${digest}`);
      expect(head.headers.get("Docker-Content-Digest")).toBe(digest);
      expect(await head.text()).toBe("");
    }
  });

  it("a manifest DELETE takes effect at once in the isolate that served it", async () => {
    const e = base();
    const { digest } = await pushImage("cache/del", "v1");
    expect((await call(e, "GET", `/v2/cache/del/manifests/${digest}`)).status).toBe(200);
    expect((await call(e, "DELETE", `/v2/cache/del/manifests/${digest}`)).status).toBe(202);
    expect((await call(e, "GET", `/v2/cache/del/manifests/${digest}`)).status).toBe(404);
    expect((await call(e, "HEAD", `/v2/cache/del/manifests/${digest}`)).status).toBe(404);
  });

  it("a blob DELETE takes effect at once for HEAD and GET", async () => {
    const e = base();
    const { layer } = await pushImage("cache/blob", "v1");
    expect((await call(e, "HEAD", `/v2/cache/blob/blobs/${layer}`)).status).toBe(200);
    expect((await call(e, "GET", `/v2/cache/blob/blobs/${layer}`)).status).toBe(307);
    expect((await call(e, "DELETE", `/v2/cache/blob/blobs/${layer}`)).status).toBe(202);
    expect((await call(e, "HEAD", `/v2/cache/blob/blobs/${layer}`)).status).toBe(404);
    expect((await call(e, "GET", `/v2/cache/blob/blobs/${layer}`)).status).toBe(404);
  });

  it("serves content removed behind its back (another isolate's delete) for at most CONTENT_CACHE_SECONDS", async () => {
    const e = base({ CONTENT_CACHE_SECONDS: "1" });
    const { digest, body, layer } = await pushImage("cache/ttl", "v1");
    expect((await call(e, "GET", `/v2/cache/ttl/manifests/${digest}`)).status).toBe(200);
    expect((await call(e, "HEAD", `/v2/cache/ttl/blobs/${layer}`)).status).toBe(200);
    // Another isolate deletes: R2 changes, this isolate's cache is not told.
    await env.BUCKET.delete([paths.manifest("cache/ttl", parseDigest(digest)), paths.layerLink("cache/ttl", parseDigest(layer))]);
    const stale = await call(e, "GET", `/v2/cache/ttl/manifests/${digest}`);
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(body);
    expect((await call(e, "HEAD", `/v2/cache/ttl/blobs/${layer}`)).status).toBe(200);
    await sleep(1100);
    expect((await call(e, "GET", `/v2/cache/ttl/manifests/${digest}`)).status).toBe(404);
    expect((await call(e, "HEAD", `/v2/cache/ttl/blobs/${layer}`)).status).toBe(404);
  });

  it("another isolate in the same location is answered from the Cache API without reading R2", async () => {
    const e = base({ CONTENT_CACHE_SECONDS: "30" });
    const { digest, body } = await pushImage("cache/edge", "v1");
    expect((await call(e, "GET", `/v2/cache/edge/manifests/${digest}`)).status).toBe(200);
    await sleep(50); // the Cache API fill runs after the answer
    contentCache.local.clear(); // a fresh isolate: nothing in memory
    await env.BUCKET.delete(paths.manifest("cache/edge", parseDigest(digest)));
    const res = await call(e, "GET", `/v2/cache/edge/manifests/${digest}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(body);
    // ...and a DELETE served here purges the location's Cache API entry too.
    contentCache.local.clear();
    await call(e, "DELETE", `/v2/cache/edge/manifests/${digest}`);
    contentCache.local.clear();
    expect((await call(e, "GET", `/v2/cache/edge/manifests/${digest}`)).status).toBe(404);
  });

  it("GET by tag reads the tag from R2 every time: a move or a delete elsewhere is seen at once", async () => {
    const e = base({ CONTENT_CACHE_SECONDS: "30" });
    const first = await pushImage("cache/tag", "t");
    for (let i = 0; i < 2; i++) {
      const res = await call(e, "GET", "/v2/cache/tag/manifests/t");
      expect(res.headers.get("Docker-Content-Digest")).toBe(first.digest);
      expect(await res.text()).toBe(first.body);
    }
    // The tag moves (nothing tells the cache about tag moves): the next GET has the new manifest.
    const second = await pushImage("cache/tag", "t");
    const moved = await call(e, "GET", "/v2/cache/tag/manifests/t");
    expect(moved.headers.get("Docker-Content-Digest")).toBe(second.digest);
    expect(await moved.text()).toBe(second.body);
    // Moved back to a digest this isolate still holds: answered with those bytes.
    const back = await call(e, "PUT", "/v2/cache/tag/manifests/t", { body: first.body, headers: { "Content-Type": OCI_MANIFEST } });
    expect(back.status).toBe(201);
    const again = await call(e, "GET", "/v2/cache/tag/manifests/t");
    expect(again.headers.get("Docker-Content-Digest")).toBe(first.digest);
    expect(await again.text()).toBe(first.body);
    // Another isolate deletes the tag: 404 here at once, and the manifest by digest is still there.
    await env.BUCKET.delete(paths.tag("cache/tag", "t"));
    expect((await call(e, "GET", "/v2/cache/tag/manifests/t")).status).toBe(404);
    expect((await call(e, "GET", `/v2/cache/tag/manifests/${first.digest}`)).status).toBe(200);
  });

  it("a warm GET by tag reads only the tag's metadata and answers with the cached bytes of its digest", async () => {
    const e = base({ CONTENT_CACHE_SECONDS: "30" });
    const { digest, body } = await pushImage("cache/tagwarm", "t");
    expect(await (await call(e, "GET", "/v2/cache/tagwarm/manifests/t")).text()).toBe(body);
    // Replace the tag object's copy of the bytes in R2, keeping its metadata (the digest it names): a
    // request that read the tag whole would answer with the replacement.
    const key = paths.tag("cache/tagwarm", "t");
    const obj = await env.BUCKET.head(key);
    const replacement = "x".repeat(body.length);
    await env.BUCKET.put(key, replacement, { httpMetadata: obj!.httpMetadata, customMetadata: obj!.customMetadata });
    const warm = await call(e, "GET", "/v2/cache/tagwarm/manifests/t");
    expect(warm.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(await warm.text()).toBe(body);
    // With the cache off, and in a fresh isolate, the tag object is read whole.
    expect(await (await call(base({ CONTENT_CACHE_SECONDS: "0" }), "GET", "/v2/cache/tagwarm/manifests/t")).text()).toBe(replacement);
    contentCache.local.clear();
    expect(await (await call(e, "GET", "/v2/cache/tagwarm/manifests/t")).text()).toBe(replacement);
  });

  it("CONTENT_CACHE_SECONDS=0 reads R2 every time", async () => {
    const e = base({ CONTENT_CACHE_SECONDS: "0" });
    const { digest } = await pushImage("cache/off", "v1");
    expect((await call(e, "GET", `/v2/cache/off/manifests/${digest}`)).status).toBe(200);
    await env.BUCKET.delete(paths.manifest("cache/off", parseDigest(digest)));
    expect((await call(e, "GET", `/v2/cache/off/manifests/${digest}`)).status).toBe(404);
  });

  it("checks access rules on every request, cached or not", async () => {
    const e = await authEnv();
    const alice = basic("alice", PASSWORDS.alice);
    const bob = basic("bob", PASSWORDS.bob);
    const { digest, layer } = await pushImage("team/cached", "v1"); // pushed with the project's anonymous-push env
    for (let i = 0; i < 2; i++) {
      expect((await call(e, "GET", `/v2/team/cached/manifests/${digest}`, { auth: alice })).status).toBe(200);
      expect((await call(e, "HEAD", `/v2/team/cached/blobs/${layer}`, { auth: alice })).status).toBe(200);
    }
    expect((await call(e, "GET", `/v2/team/cached/manifests/${digest}`)).status).toBe(401);
    expect((await call(e, "HEAD", `/v2/team/cached/blobs/${layer}`)).status).toBe(401);
    expect((await call(e, "GET", `/v2/team/cached/manifests/${digest}`, { auth: basic("alice", "wrong") })).status).toBe(401);
    // bob may pull team/*, but not delete; the cached entry survives his refused DELETE and he still reads it.
    expect((await call(e, "DELETE", `/v2/team/cached/manifests/${digest}`, { auth: bob })).status).toBe(403);
    expect((await call(e, "GET", `/v2/team/cached/manifests/${digest}`, { auth: bob })).status).toBe(200);
  });
});
