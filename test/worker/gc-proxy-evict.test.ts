/**
 * Garbage collection evicts pull-through cached content nobody pulled for PROXY_EVICT_AFTER_SECONDS
 * (3600 in vitest.config.ts): the cached manifests and tags of `up/...` repositories whose last pull (the
 * proxy's `_proxy/pulled/<digest>` record) is older go, their blobs after them; recently pulled content,
 * content an index that was pulled names, and local repositories stay. A pull afterwards refetches.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oci/grammar";
import { paths } from "../../src/worker/storage/paths";
import { blobStored, runGc, snapshot } from "./gc-helpers";
import { OCI_INDEX, OCI_MANIFEST, pushImage, req } from "./harness";
import { FakeUpstream } from "./upstream-control";

const up = new FakeUpstream("up.test");
const HOUR = 3600_000;

beforeEach(async () => {
  await up.reset();
});

/** Pull an image of the fake upstream through the cache: manifest by tag, then every blob, whole. */
async function pullThrough(repo: string, tag: string, blobs: string[]): Promise<void> {
  const m = await req("GET", `/v2/up/${repo}/manifests/${tag}`, { headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } });
  expect(m.status).toBe(200);
  await m.arrayBuffer();
  for (const digest of blobs) {
    let res = await req("GET", `/v2/up/${repo}/blobs/${digest}`);
    if (res.status === 307) res = await req("GET", res.headers.get("Location")!);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // The fill commits as the body ends; wait for its index entry and link.
    for (let i = 0; i < 200 && !(await blobStored(`up/${repo}`, digest)).link; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await blobStored(`up/${repo}`, digest)).toEqual({ index: true, data: true, link: true });
  }
}

/**
 * Say the last pull of a cached manifest was `ago` ms ago (what the proxy's record would hold). The
 * proxy writes its own record after the response (waitUntil): wait for it first, so it cannot land after
 * ours.
 */
async function lastPulled(repo: string, digest: string, ago: number): Promise<void> {
  const key = paths.proxyPulled(repo, parseDigest(digest));
  for (let i = 0; i < 100 && !(await env.BUCKET.head(key)); i++) await new Promise((r) => setTimeout(r, 20));
  await env.BUCKET.put(key, "", { customMetadata: { pulledAt: String(Date.now() - ago) } });
}

describe("pull-through cache eviction", () => {
  it("drops cached manifests and tags not pulled for PROXY_EVICT_AFTER_SECONDS, and their blobs; keeps the rest", async () => {
    const old = await up.image("org/old", "v1");
    const fresh = await up.image("org/fresh", "v1");
    await pullThrough("org/old", "v1", [old.config, ...old.layers.map((l) => l.digest)]);
    await pullThrough("org/fresh", "v1", [fresh.config, ...fresh.layers.map((l) => l.digest)]);
    await lastPulled("up/org/old", old.digest, 2 * HOUR);
    await lastPulled("up/org/fresh", fresh.digest, HOUR / 2);
    const local = await pushImage("local/app", "v1"); // a local repository: never evicted, pulled or not

    const before = await snapshot();
    const dry = await runGc({ dryRun: true });
    expect(dry.state).toBe("done");
    expect(dry.removed.tags).toBe(1);
    expect(dry.removed.manifests).toBe(1);
    expect(dry.examples.manifests).toEqual([`up/org/old@${old.digest}`]);
    expect(await snapshot()).toEqual(before);

    const report = await runGc();
    expect(report.state).toBe("done");
    expect(report.removed.tags).toBe(1);
    expect(report.removed.manifests).toBe(1);
    expect(report.removed.blobs).toBe(2); // the old image's config and layer
    expect(await env.BUCKET.head(paths.tag("up/org/old", "v1"))).toBeNull();
    expect(await env.BUCKET.head(paths.manifest("up/org/old", parseDigest(old.digest)))).toBeNull();
    expect(await env.BUCKET.head(paths.proxyPulled("up/org/old", parseDigest(old.digest)))).toBeNull();
    expect(await env.BUCKET.head(paths.proxyTag("up/org/old", "v1"))).toBeNull();
    expect(await blobStored("up/org/old", old.layers[0].digest)).toEqual({ index: false, data: false, link: false });
    // Pulled lately: all there.
    expect(await env.BUCKET.head(paths.tag("up/org/fresh", "v1"))).not.toBeNull();
    expect(await blobStored("up/org/fresh", fresh.layers[0].digest)).toEqual({ index: true, data: true, link: true });
    expect((await req("GET", `/v2/local/app/manifests/v1`)).status).toBe(200);
    expect(await blobStored("local/app", local.layer)).toEqual({ index: true, data: true, link: true });

    // Evicted content is simply fetched again.
    await up.clearLog();
    const again = await req("GET", "/v2/up/org/old/manifests/v1", { headers: { Accept: OCI_MANIFEST } });
    expect(again.status).toBe(200);
    expect(again.headers.get("Wharf-Cache")).toBe("miss");
    expect(await again.text()).toBe(old.body);
    expect(await up.contentRequests()).toContain("GET /v2/org/old/manifests/v1");
  });

  it("keeps what a recently pulled index names, and what has no pull record but was cached lately", async () => {
    const child = await up.image("org/multi", undefined);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.body.length, platform: { os: "linux", architecture: "amd64" } }],
    });
    const indexDigest = await up.manifest("org/multi", index, "latest", OCI_INDEX);
    await pullThrough("org/multi", "latest", []);
    const byDigest = await req("GET", `/v2/up/org/multi/manifests/${child.digest}`, { headers: { Accept: OCI_MANIFEST } });
    expect(byDigest.status).toBe(200);
    await byDigest.arrayBuffer();
    await lastPulled("up/org/multi", indexDigest, HOUR / 4);
    await lastPulled("up/org/multi", child.digest, 3 * HOUR); // the child itself not pulled for long
    // HEAD by tag caches a manifest without recording a pull: its upload time counts.
    const headOnly = await up.image("org/head", "v1");
    expect((await req("HEAD", "/v2/up/org/head/manifests/v1", { headers: { Accept: OCI_MANIFEST } })).status).toBe(200);
    await env.BUCKET.delete(paths.proxyPulled("up/org/head", parseDigest(headOnly.digest)));

    const report = await runGc();
    expect(report.state).toBe("done");
    expect(report.removed.manifests).toBe(0);
    expect(report.removed.tags).toBe(0);
    expect(await env.BUCKET.head(paths.manifest("up/org/multi", parseDigest(child.digest)))).not.toBeNull();
    expect(await env.BUCKET.head(paths.tag("up/org/head", "v1"))).not.toBeNull();

    // Once the index too is old, both go.
    await lastPulled("up/org/multi", indexDigest, 2 * HOUR);
    const later = await runGc();
    expect(later.removed.manifests).toBe(2);
    expect(later.removed.tags).toBe(1);
    expect(await env.BUCKET.head(paths.manifest("up/org/multi", parseDigest(child.digest)))).toBeNull();
  });

  it("a pull record whose manifest is gone is deleted", async () => {
    const img = await up.image("org/stale", "v1");
    await pullThrough("org/stale", "v1", []);
    await lastPulled("up/org/stale", img.digest, HOUR / 2);
    const orphan = parseDigest(`sha256:${"e".repeat(64)}`);
    await env.BUCKET.put(paths.proxyPulled("up/org/stale", orphan), "", { customMetadata: { pulledAt: String(Date.now()) } });
    await runGc();
    expect(await env.BUCKET.head(paths.proxyPulled("up/org/stale", orphan))).toBeNull();
    expect(await env.BUCKET.head(paths.proxyPulled("up/org/stale", parseDigest(img.digest)))).not.toBeNull();
  });
});
