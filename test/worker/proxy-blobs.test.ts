// Blobs through the pull-through cache: fills streamed to the client and into R2 with the digest checked,
// one upstream GET for concurrent pulls (the BlobFill Durable Object), disconnects, redirects, auth.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oci/grammar";
import { paths } from "../../src/worker/storage/paths";
import { expectError, pushBlob, randomBytes, req, sha256 } from "./harness";
import { FakeUpstream } from "./upstream-control";

const fill = new FakeUpstream("fill.test");
const lie = new FakeUpstream("lie.test");
const tok = new FakeUpstream("tok.test");
const basic = new FakeUpstream("basic.test");

beforeEach(async () => {
  for (const u of [fill, lie, tok, basic]) await u.reset();
});

async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

async function dataKeys(): Promise<string[]> {
  return (await env.BUCKET.list({ prefix: "data/" })).objects.map((o) => o.key);
}

/** Follow Wharf's own redirect (to its signed blob route). */
async function getFollowing(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await req("GET", path, { headers });
  if (res.status !== 307) return res;
  const again = await req("GET", res.headers.get("Location")!, { headers });
  Object.defineProperty(again, "first", { value: res });
  return again;
}

/** The BlobFill object of a digest (proxy/blobs.ts fillBlob picks the same one). */
const fillObject = (digest: string) => env.FILLS.get(env.FILLS.idFromName(digest));

async function waitFor<T>(fn: () => Promise<T | null>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("blob fills", () => {
  it("streams a miss to the client while storing it; the next pull is a hit that goes nowhere upstream", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const digest = await fill.blob("org/app", data);
    const first = await req("GET", `/v2/fill/org/app/blobs/${digest}`);
    expect(first.status).toBe(200);
    expect(first.headers.get("Wharf-Cache")).toBe("miss");
    expect(first.headers.get("Content-Length")).toBe(String(data.length));
    expect(first.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(await sha256(await bytesOf(first))).toBe(digest);
    expect(await fill.contentRequests()).toEqual([`GET /v2/org/app/blobs/${digest}`]);

    await fill.clearLog();
    const head = await req("HEAD", `/v2/fill/org/app/blobs/${digest}`);
    expect(head.headers.get("Wharf-Cache")).toBe("hit");
    expect(head.headers.get("Content-Length")).toBe(String(data.length));
    const hit = await req("GET", `/v2/fill/org/app/blobs/${digest}`);
    expect(hit.status).toBe(307);
    expect(hit.headers.get("Wharf-Cache")).toBe("hit");
    const bytes = await bytesOf(await req("GET", hit.headers.get("Location")!));
    expect(await sha256(bytes)).toBe(digest);
    expect(await fill.contentRequests()).toEqual([]);
  });

  it("ten concurrent pulls of one missing blob make one upstream GET", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const digest = await fill.blob("many/app", data);
    await fill.options({ blobDelayMs: 300 });
    const results = await Promise.all(Array.from({ length: 10 }, () => getFollowing(`/v2/fill/many/app/blobs/${digest}`)));
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(await sha256(await bytesOf(r))).toBe(digest);
    }
    expect((await fill.contentRequests()).filter((r) => r.startsWith("GET "))).toEqual([`GET /v2/many/app/blobs/${digest}`]);
  });

  it("a blob of unknown size (chunked upstream) goes through multipart parts, and is served once stored", async () => {
    const data = randomBytes(12 * 1024 * 1024 + 5); // 5 MiB parts in tests: two parts and a tail
    const digest = await fill.blob("chunked/app", data);
    await fill.options({ chunked: true });
    // Without a length to hold a stream to, the first requester waits for the fill and gets R2's copy.
    const res = await getFollowing(`/v2/fill/chunked/app/blobs/${digest}`);
    expect(res.headers.get("Content-Length")).toBe(String(data.length));
    expect(await sha256(await bytesOf(res))).toBe(digest);
    const info = await waitFor(() => env.BUCKET.head(paths.blobIndex(parseDigest(digest))));
    expect(Number(info.customMetadata!.size)).toBe(data.length);
    const obj = await env.BUCKET.head(info.customMetadata!.data);
    expect(obj?.size).toBe(data.length);
  });

  it("a client that disconnects does not abort the fill", async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const digest = await fill.blob("gone/app", data);
    const res = await req("GET", `/v2/fill/gone/app/blobs/${digest}`);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await waitFor(() => env.BUCKET.head(paths.layerLink("fill/gone/app", parseDigest(digest))));
    const again = await getFollowing(`/v2/fill/gone/app/blobs/${digest}`);
    expect(await sha256(await bytesOf(again))).toBe(digest);
    expect((await fill.contentRequests()).filter((r) => r.startsWith("GET "))).toHaveLength(1);
  });

  it("a fill of known size (one R2 put) leaves nothing in its object's storage: no record, no alarm", async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const digest = await fill.blob("whole/app", data);
    expect(await sha256(await bytesOf(await req("GET", `/v2/fill/whole/app/blobs/${digest}`)))).toBe(digest);
    await waitFor(() => env.BUCKET.head(paths.layerLink("fill/whole/app", parseDigest(digest))));
    await runInDurableObject(fillObject(digest), async (_o, state) => {
      expect([...(await state.storage.list()).keys()]).toEqual([]);
      expect(await state.storage.getAlarm()).toBeNull();
    });
  });

  it("a fill in parts that died midway: its record survives, and the alarm aborts the upload and deletes its data", async () => {
    const digest = `sha256:${"d".repeat(64)}`;
    const dataKey = paths.data("fill-died-midway");
    const upload = await env.BUCKET.createMultipartUpload(dataKey);
    const part = await upload.uploadPart(1, randomBytes(5 * 1024 * 1024));
    const stub = fillObject(digest);
    await runInDurableObject(stub, async (_o, state) => {
      await state.storage.put("fill", { digest, dataKey, uploadId: upload.uploadId, startedAt: Date.now() - 7200_000 });
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, async (_o, state) => expect(await state.storage.get("fill")).toBeUndefined());
    // Aborted: the upload takes no more parts and cannot be completed.
    await expect(env.BUCKET.resumeMultipartUpload(dataKey, upload.uploadId).complete([part])).rejects.toThrow();
    expect(await env.BUCKET.head(dataKey)).toBeNull();
  });

  it("the alarm of a fill whose data object the content index names (it finished) keeps the data", async () => {
    const data = randomBytes(4096);
    const digest = await pushBlob("kept/app", data);
    const info = await env.BUCKET.head(paths.blobIndex(parseDigest(digest)));
    const dataKey = info!.customMetadata!.data;
    const stub = fillObject(digest);
    await runInDurableObject(stub, async (_o, state) => {
      await state.storage.put("fill", { digest, dataKey, startedAt: Date.now() - 7200_000 });
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, async (_o, state) => expect(await state.storage.get("fill")).toBeUndefined());
    expect((await env.BUCKET.head(dataKey))?.size).toBe(data.length);
  });

  it("a ranged GET on a miss waits for the fill and gets its range", async () => {
    const data = randomBytes(1024 * 1024);
    const digest = await fill.blob("range/app", data);
    const res = await getFollowing(`/v2/fill/range/app/blobs/${digest}`, { Range: "bytes=10-19" });
    expect(res.status).toBe(206);
    expect([...(await bytesOf(res))]).toEqual([...data.subarray(10, 20)]);
  });

  it("a HEAD on a miss is answered from the upstream's HEAD and stores nothing", async () => {
    const data = randomBytes(1000);
    const digest = await fill.blob("head/app", data);
    const res = await req("HEAD", `/v2/fill/head/app/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("1000");
    expect(res.headers.get("Wharf-Cache")).toBe("miss");
    expect(await env.BUCKET.head(paths.blobIndex(parseDigest(digest)))).toBeNull();
    await expectError(await req("GET", `/v2/fill/head/app/blobs/sha256:${"c".repeat(64)}`), 404, "BLOB_UNKNOWN");
  });

  it("bytes already stored (pushed locally) are linked after the upstream confirms the repository has them", async () => {
    const data = randomBytes(2000);
    const digest = await pushBlob("local/app", data);
    await fill.blob("has/app", data);
    const res = await req("HEAD", `/v2/fill/has/app/blobs/${digest}`);
    expect(res.headers.get("Wharf-Cache")).toBe("hit");
    expect(await fill.contentRequests()).toEqual([`HEAD /v2/has/app/blobs/${digest}`]);
    await expectError(await req("GET", `/v2/fill/other/app/blobs/${digest}`), 404, "BLOB_UNKNOWN");
  });

  it("a GET of bytes already stored goes upstream for a HEAD only, and is a hit", async () => {
    const data = randomBytes(3000);
    const digest = await pushBlob("local/app", data);
    await fill.blob("has/get", data);
    const res = await req("GET", `/v2/fill/has/get/blobs/${digest}`);
    expect(res.status).toBe(307);
    expect(res.headers.get("Wharf-Cache")).toBe("hit");
    expect(await fill.contentRequests()).toEqual([`HEAD /v2/has/get/blobs/${digest}`]);
  });
});

describe("mounts from a proxied repository", () => {
  it("a push mounts a blob the cache holds, by the proxied name; one it does not hold gets an upload session", async () => {
    const data = randomBytes(64 * 1024);
    const digest = await fill.blob("base/os", data);
    const pulled = await req("GET", `/v2/fill/base/os/blobs/${digest}`);
    expect(await sha256(await bytesOf(pulled))).toBe(digest);
    await waitFor(() => env.BUCKET.head(paths.layerLink("fill/base/os", parseDigest(digest))));
    const mounted = await req("POST", `/v2/mine/app/blobs/uploads/?mount=${digest}&from=fill/base/os`);
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get("Docker-Content-Digest")).toBe(digest);
    const served = await getFollowing(`/v2/mine/app/blobs/${digest}`);
    expect(await sha256(await bytesOf(served))).toBe(digest);
    const other = await fill.blob("base/os", randomBytes(1000));
    const notCached = await req("POST", `/v2/mine/app/blobs/uploads/?mount=${other}&from=fill/base/os`);
    expect(notCached.status).toBe(202);
  });
});

describe("a lying upstream", () => {
  it("stores nothing, and the client never gets a complete body", async () => {
    const data = randomBytes(2 * 1024 * 1024 + 3);
    const digest = await lie.blob("evil/app", data);
    await lie.options({ lie: true });
    const before = await dataKeys();
    const res = await req("GET", `/v2/lie/evil/app/blobs/${digest}`);
    expect(res.headers.get("Content-Length")).toBe(String(data.length));
    // The last chunk is held back until the digest matched: the body breaks instead of ending short.
    await expect(bytesOf(res)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 200));
    expect(await env.BUCKET.head(paths.blobIndex(parseDigest(digest)))).toBeNull();
    expect(await env.BUCKET.head(paths.layerLink("lie/evil/app", parseDigest(digest)))).toBeNull();
    expect(await dataKeys()).toEqual(before);
    // Asked again, with Range (waiting for the fill): a clear error.
    const again = await req("GET", `/v2/lie/evil/app/blobs/${digest}`, { headers: { Range: "bytes=0-9" } });
    expect(again.status).toBe(502);
    expect(((await again.json()) as { errors: { message: string }[] }).errors[0].message).toMatch(/does not match its digest; nothing was stored/);
  });
});

describe("upstream auth", () => {
  it("takes a token with the configured credentials, caches it per scope, and follows redirects without credentials", async () => {
    await tok.options({ auth: "token", redirectBlobs: true });
    const img = await tok.image("private/app", "v1", [1500, 2500]);
    expect((await req("GET", "/v2/tok/private/app/manifests/v1")).status).toBe(200);
    for (const l of img.layers) {
      const res = await req("GET", `/v2/tok/private/app/blobs/${l.digest}`);
      expect(res.status).toBe(200);
      expect(await bytesOf(res)).toEqual(l.bytes);
    }
    const log = await tok.log();
    expect(log.filter((e) => e.path.startsWith("/token"))).toHaveLength(1);
    const data = log.filter((e) => e.path.startsWith("/_data/"));
    expect(data).toHaveLength(2);
    expect(data.every((e) => e.authorization === null)).toBe(true);
  });

  it("wrong upstream credentials are a DENIED naming the upstream", async () => {
    await tok.options({ auth: "token", password: "changed" });
    await tok.image("private/app", "v2");
    const res = await req("GET", "/v2/tok/private/app/manifests/v2");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { errors: { code: string; message: string }[] }).errors[0]).toMatchObject({ code: "DENIED", message: expect.stringMatching(/upstream tok \(http:\/\/tok\.test\) refused/) });
  });

  it("answers a Basic challenge with the configured credentials", async () => {
    await basic.options({ auth: "basic" });
    const img = await basic.image("b/app", "v1");
    const res = await req("GET", "/v2/basic/b/app/manifests/v1");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(img.body);
  });
});
