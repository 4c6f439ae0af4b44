// Manifests and tags through the pull-through cache, against fake upstreams (test/upstream/fake-registry.ts)
// reached through the Worker's real outbound fetch. Upstream requests are counted from the upstream's log.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oci/grammar";
import { Repositories } from "../../src/worker/repository/client";
import { paths } from "../../src/worker/storage/paths";
import { expectError, OCI_MANIFEST, req } from "./harness";
import { FakeUpstream } from "./upstream-control";

const up = new FakeUpstream("up.test");
const ttl0 = new FakeUpstream("ttl0.test");
const ACCEPT = { Accept: OCI_MANIFEST };

beforeEach(async () => {
  await up.reset();
  await ttl0.reset();
});

describe("manifests by tag", () => {
  it("a tagged fill goes through the cache repository's object: its summary and tag index (the web UI's lists) have the tag", async () => {
    await up.image("org/summed", "v1");
    expect((await req("GET", "/v2/up/org/summed/manifests/v1", { headers: ACCEPT })).status).toBe(200);
    expect(await (await env.BUCKET.get(paths.summary("up/org/summed")))?.json()).toMatchObject({ tags: 1, latest: { tag: "v1" } });
    const repositories = new Repositories(env.REPOSITORIES);
    expect(JSON.parse((await repositories.listTags("up/org/summed", 10))!.json)).toEqual(["v1"]); // the index is built from here on
    await up.image("org/summed", "v2");
    expect((await req("GET", "/v2/up/org/summed/manifests/v2", { headers: ACCEPT })).status).toBe(200);
    expect((await repositories.listTagDetails("up/org/summed", 10, undefined))?.tags.map((t) => t.tag)).toEqual(["v1", "v2"]);
    expect(await (await env.BUCKET.get(paths.summary("up/org/summed")))?.json()).toMatchObject({ tags: 2, latest: { tag: "v2" } });
  });

  it("fetches on a miss, then serves from R2 within the TTL without asking upstream", async () => {
    const img = await up.image("org/app", "v1");
    const first = await req("GET", "/v2/up/org/app/manifests/v1", { headers: ACCEPT });
    expect(first.status).toBe(200);
    expect(first.headers.get("Wharf-Cache")).toBe("miss");
    expect(first.headers.get("Docker-Content-Digest")).toBe(img.digest);
    expect(first.headers.get("Content-Type")).toBe(OCI_MANIFEST);
    expect(await first.text()).toBe(img.body);
    expect(await up.contentRequests()).toEqual(["GET /v2/org/app/manifests/v1"]);

    await up.clearLog();
    for (const method of ["GET", "HEAD"]) {
      const again = await req(method, "/v2/up/org/app/manifests/v1", { headers: ACCEPT });
      expect(again.status).toBe(200);
      expect(again.headers.get("Wharf-Cache")).toBe("hit");
      expect(again.headers.get("Docker-Content-Digest")).toBe(img.digest);
      expect(again.headers.get("Content-Length")).toBe(String(img.body.length));
    }
    const byDigest = await req("GET", `/v2/up/org/app/manifests/${img.digest}`);
    expect(byDigest.headers.get("Wharf-Cache")).toBe("hit");
    expect(await byDigest.text()).toBe(img.body);
    expect(await up.contentRequests()).toEqual([]);
  });

  it("after the TTL asks with one HEAD; a moved tag is fetched again by digest", async () => {
    const v1 = await ttl0.image("app", "latest");
    expect((await req("GET", "/v2/ttl0/app/manifests/latest")).headers.get("Wharf-Cache")).toBe("miss");
    await ttl0.clearLog();
    const same = await req("GET", "/v2/ttl0/app/manifests/latest");
    expect(same.headers.get("Wharf-Cache")).toBe("hit");
    expect(await same.text()).toBe(v1.body);
    expect(await ttl0.contentRequests()).toEqual(["HEAD /v2/app/manifests/latest"]);

    const v2 = await ttl0.image("app", "latest");
    await ttl0.clearLog();
    const moved = await req("GET", "/v2/ttl0/app/manifests/latest");
    expect(moved.headers.get("Wharf-Cache")).toBe("miss");
    expect(moved.headers.get("Docker-Content-Digest")).toBe(v2.digest);
    expect(await moved.text()).toBe(v2.body);
    expect(await ttl0.contentRequests()).toEqual(["HEAD /v2/app/manifests/latest", `GET /v2/app/manifests/${v2.digest}`]);
    // The old revision stays cached by digest.
    expect((await req("GET", `/v2/ttl0/app/manifests/${v1.digest}`)).headers.get("Wharf-Cache")).toBe("hit");
  });

  it("serves the cached copy as stale when the upstream fails or is unreachable", async () => {
    const img = await ttl0.image("app", "1");
    await req("GET", "/v2/ttl0/app/manifests/1");
    for (const o of [{ down: true }, { down: false, fail: 503 }, { fail: 429, retryAfter: "7" }]) {
      await ttl0.options(o);
      const res = await req("GET", "/v2/ttl0/app/manifests/1");
      expect(res.status).toBe(200);
      expect(res.headers.get("Wharf-Cache")).toBe("stale");
      expect(await res.text()).toBe(img.body);
    }
  });

  it("maps upstream failures when nothing cached can serve", async () => {
    await expectError(await req("GET", "/v2/up/nothing/manifests/v1"), 404, "MANIFEST_UNKNOWN");
    await up.options({ fail: 429, retryAfter: "42" });
    const limited = await req("GET", "/v2/up/x/manifests/v1");
    expect(limited.headers.get("Retry-After")).toBe("42");
    await expectError(limited, 429, "TOOMANYREQUESTS");
    await up.options({ fail: 403 });
    const denied = await req("GET", "/v2/up/x/manifests/v1");
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { errors: { code: string; message: string }[] }).errors[0]).toMatchObject({ code: "DENIED", message: expect.stringMatching(/upstream up \(http:\/\/up\.test\) refused/) });
    await up.options({ fail: 500 });
    await expectError(await req("GET", "/v2/up/x/manifests/v1"), 502, "UNAVAILABLE");
    // (An outbound service that throws reaches the Worker as a 500; a refused connection is tested end to end.)
    await up.options({ fail: null, down: true });
    const down = await req("GET", "/v2/up/x/manifests/v1");
    expect(down.status).toBe(502);
    expect(((await down.json()) as { errors: { message: string }[] }).errors[0].message).toMatch(/upstream up \(http:\/\/up\.test\) (is unreachable|failed)/);
    // A HEAD gets the same status, without a body.
    expect((await req("HEAD", "/v2/up/x/manifests/v1")).status).toBe(502);
  });

  it("a tag gone upstream is MANIFEST_UNKNOWN after the TTL", async () => {
    await ttl0.image("app", "gone");
    await req("GET", "/v2/ttl0/app/manifests/gone");
    await ttl0.untag("app", "gone");
    await expectError(await req("GET", "/v2/ttl0/app/manifests/gone"), 404, "MANIFEST_UNKNOWN");
  });

  it("a HEAD on a cold tag stores the manifest, so the GET by digest that follows is a hit", async () => {
    const img = await up.image("cold/app", "v1");
    const head = await req("HEAD", "/v2/up/cold/app/manifests/v1");
    expect(head.status).toBe(200);
    expect(head.headers.get("Wharf-Cache")).toBe("miss");
    expect(head.headers.get("Docker-Content-Digest")).toBe(img.digest);
    expect((await req("GET", `/v2/up/cold/app/manifests/${img.digest}`)).headers.get("Wharf-Cache")).toBe("hit");
    expect(await up.contentRequests()).toEqual(["GET /v2/cold/app/manifests/v1"]);
  });

  it("records the last pull of a cached manifest for garbage collection", async () => {
    const img = await up.image("gc/app", "v1");
    await req("GET", "/v2/up/gc/app/manifests/v1");
    const key = paths.proxyPulled("up/gc/app", parseDigest(img.digest));
    let obj: R2Object | null = null;
    for (let i = 0; i < 50 && !obj; i++) {
      obj = await env.BUCKET.head(key);
      if (!obj) await new Promise((r) => setTimeout(r, 20));
    }
    expect(Number(obj?.customMetadata?.pulledAt)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("manifests by digest", () => {
  it("are fetched once, checked and kept; a lying upstream stores nothing", async () => {
    const img = await up.image("d/app", undefined);
    const first = await req("GET", `/v2/up/d/app/manifests/${img.digest}`);
    expect(first.headers.get("Wharf-Cache")).toBe("miss");
    expect(first.headers.get("Cache-Control")).toMatch(/immutable/);
    expect(await first.text()).toBe(img.body);
    await up.options({ down: true });
    const kept = await req("GET", `/v2/up/d/app/manifests/${img.digest}`);
    expect(kept.headers.get("Wharf-Cache")).toBe("hit");
    expect(await kept.text()).toBe(img.body);

    await up.options({ down: false, lie: true });
    const other = await up.image("d/app", "t");
    const lied = await req("GET", `/v2/up/d/app/manifests/${other.digest}`);
    await expectError(lied, 502, "UNAVAILABLE");
    const byTag = await req("GET", "/v2/up/d/app/manifests/t");
    expect(byTag.status).toBe(502);
    expect(((await byTag.json()) as { errors: { message: string }[] }).errors[0].message).toMatch(/does not match|has digest/);
    expect(await env.BUCKET.head(paths.manifest("up/d/app", parseDigest(other.digest)))).toBeNull();
    expect(await env.BUCKET.head(paths.tag("up/d/app", "t"))).toBeNull();
  });
});

describe("tags and catalog", () => {
  it("lists tags from upstream (all pages), cached for the TTL, with pagination", async () => {
    await up.options({ tagPageSize: 2 });
    for (const t of ["a", "b", "c", "d", "e"]) await up.manifest("t/app", JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: "x", digest: `sha256:${"0".repeat(64)}`, size: 1 }, layers: [], t }), t);
    const all = await req("GET", "/v2/up/t/app/tags/list");
    expect(all.headers.get("Wharf-Cache")).toBe("miss");
    expect(await all.json()).toEqual({ name: "up/t/app", tags: ["a", "b", "c", "d", "e"] });
    await up.clearLog();
    const page = await req("GET", "/v2/up/t/app/tags/list?n=2&last=b");
    expect(page.headers.get("Wharf-Cache")).toBe("hit");
    expect(page.headers.get("Link")).toBe('</v2/up/t/app/tags/list?n=2&last=d>; rel="next"');
    expect(await page.json()).toEqual({ name: "up/t/app", tags: ["c", "d"] });
    expect(await up.contentRequests()).toEqual([]);
    await expectError(await req("GET", "/v2/up/none/tags/list"), 404, "NAME_UNKNOWN");
  });

  it("the catalog lists the cache repositories that hold something", async () => {
    await up.image("cat/one", "v1");
    await req("GET", "/v2/up/cat/one/manifests/v1");
    const cat = (await (await req("GET", "/v2/_catalog")).json()) as { repositories: string[] };
    expect(cat.repositories).toContain("up/cat/one");
  });
});

describe("writes under a proxy prefix", () => {
  it("are refused with an error that says the repository is a cache", async () => {
    const attempts: [string, string][] = [
      ["PUT", "/v2/up/org/app/manifests/v1"],
      ["DELETE", "/v2/up/org/app/manifests/v1"],
      ["POST", "/v2/up/org/app/blobs/uploads/"],
      ["DELETE", `/v2/up/org/app/blobs/sha256:${"a".repeat(64)}`],
    ];
    for (const [method, path] of attempts) {
      const res = await req(method, path, method === "PUT" ? { body: "{}", headers: { "Content-Type": OCI_MANIFEST } } : {});
      expect(res.status).toBe(405);
      const body = (await res.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0].code).toBe("UNSUPPORTED");
      expect(body.errors[0].message).toMatch(/up\/org\/app is a pull-through cache of http:\/\/up\.test\/org\/app/);
    }
    expect(await up.contentRequests()).toEqual([]);
  });
});
