import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseDigest } from "../../../src/oci/grammar";
import { paths } from "../../../src/worker/storage/paths";
import { expectError, pushBlob, randomBytes, req, sha256 } from "../harness";

const MISSING = `sha256:${"0".repeat(64)}`;

describe("monolithic upload (POST ?digest=)", () => {
  it("stores the blob and answers 201 with its location", async () => {
    const data = randomBytes(3000);
    const digest = await sha256(data);
    const res = await req("POST", `/v2/mono/a/blobs/uploads/?digest=${digest}`, { body: data });
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toBe(`/v2/mono/a/blobs/${digest}`);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    const head = await req("HEAD", `/v2/mono/a/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe("3000");
  });

  it("a digest mismatch is DIGEST_INVALID and stores nothing", async () => {
    const data = randomBytes(2000);
    const claimed = await sha256("something else");
    await expectError(await req("POST", `/v2/mono/b/blobs/uploads/?digest=${claimed}`, { body: data }), 400, "DIGEST_INVALID");
    expect((await req("HEAD", `/v2/mono/b/blobs/${claimed}`)).status).toBe(404);
    expect((await req("HEAD", `/v2/mono/b/blobs/${await sha256(data)}`)).status).toBe(404);
    expect(await env.BUCKET.head(paths.blobIndex(parseDigest(claimed)))).toBeNull();
    const data2 = await env.BUCKET.list({ prefix: "data/" });
    for (const o of data2.objects) expect(o.size).not.toBe(2000);
  });

  it("sha512 digests are verified too", async () => {
    const data = randomBytes(500);
    const h = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
    const digest = `sha512:${[...h].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    expect((await req("POST", `/v2/mono/c/blobs/uploads/?digest=${digest}`, { body: data })).status).toBe(201);
    const get = await req("GET", `/v2/mono/c/blobs/${digest}`, { redirect: "follow" });
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(data);
  });

  it("an empty blob works", async () => {
    const digest = await sha256(new Uint8Array(0));
    const res = await req("POST", `/v2/mono/e/blobs/uploads/?digest=${digest}`, { body: new Uint8Array(0) });
    expect(res.status).toBe(201);
    const get = await req("GET", `/v2/mono/e/blobs/${digest}`, { redirect: "follow" });
    expect(get.status).toBe(200);
    expect((await get.arrayBuffer()).byteLength).toBe(0);
  });

  it("malformed and unsupported digests are DIGEST_INVALID", async () => {
    await expectError(await req("POST", "/v2/mono/d/blobs/uploads/?digest=sha256:xyz", { body: "x" }), 400, "DIGEST_INVALID");
    await expectError(await req("POST", `/v2/mono/d/blobs/uploads/?digest=md5:${"a".repeat(32)}`, { body: "x" }), 400, "DIGEST_INVALID");
  });
});

describe("blob HEAD and GET", () => {
  it("HEAD answers from metadata with digest, length and Accept-Ranges", async () => {
    const digest = await pushBlob("get/a", "hello blob");
    const res = await req("HEAD", `/v2/get/a/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("Content-Length")).toBe("10");
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
  });

  it("GET redirects (307) to a signed URL that serves the bytes, cacheable", async () => {
    const digest = await pushBlob("get/b", "redirect me");
    const res = await req("GET", `/v2/get/b/blobs/${digest}`);
    expect(res.status).toBe(307);
    const location = res.headers.get("Location")!;
    expect(location).toMatch(/\/_wharf\/blobs\/sha256\/[0-9a-f]{64}\?exp=\d+&sig=/);
    const blob = await req("GET", location);
    expect(blob.status).toBe(200);
    expect(await blob.text()).toBe("redirect me");
    expect(blob.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(blob.headers.get("Cache-Control")).toMatch(/public, max-age=\d+/);
    // Same time window, same URL: repeated pulls hit one cache entry.
    expect((await req("GET", `/v2/get/b/blobs/${digest}`)).headers.get("Location")).toBe(location);
  });

  it("a tampered or expired signed URL is 403 DENIED", async () => {
    const digest = await pushBlob("get/c", "secret bytes");
    const location = (await req("GET", `/v2/get/c/blobs/${digest}`)).headers.get("Location")!;
    const url = new URL(location);
    const sig = url.searchParams.get("sig")!;
    url.searchParams.set("sig", (sig[0] === "A" ? "B" : "A") + sig.slice(1));
    await expectError(await req("GET", url.toString()), 403, "DENIED");
    const later = new URL(location);
    later.searchParams.set("exp", String(Number(later.searchParams.get("exp")) + 900));
    await expectError(await req("GET", later.toString()), 403, "DENIED");
    const other = location.replace(digest.slice(7), "f".repeat(64));
    await expectError(await req("GET", other), 403, "DENIED");
    await expectError(await req("GET", location.split("?")[0]), 403, "DENIED");
  });

  it("Range gives 206 with Content-Range; an unsatisfiable range is 416", async () => {
    const data = randomBytes(1000);
    const digest = await pushBlob("get/d", data);
    const location = (await req("GET", `/v2/get/d/blobs/${digest}`)).headers.get("Location")!;
    const part = await req("GET", location, { headers: { Range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe("bytes 100-199/1000");
    expect(part.headers.get("Content-Length")).toBe("100");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(data.slice(100, 200));
    const suffix = await req("GET", location, { headers: { Range: "bytes=-10" } });
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(data.slice(990));
    const open = await req("GET", location, { headers: { Range: "bytes=995-" } });
    expect(open.headers.get("Content-Range")).toBe("bytes 995-999/1000");
    const bad = await req("GET", location, { headers: { Range: "bytes=1000-1005" } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("Content-Range")).toBe("bytes */1000");
  });

  it("unknown blobs are 404 BLOB_UNKNOWN; HEAD has no body", async () => {
    await expectError(await req("GET", `/v2/get/e/blobs/${MISSING}`), 404, "BLOB_UNKNOWN");
    const head = await req("HEAD", `/v2/get/e/blobs/${MISSING}`);
    expect(head.status).toBe(404);
    expect(await head.text()).toBe("");
  });

  it("a blob pushed to one repository is not readable from another", async () => {
    const digest = await pushBlob("get/private", "mine");
    await expectError(await req("GET", `/v2/get/other/blobs/${digest}`), 404, "BLOB_UNKNOWN");
  });

  it("a bad digest in the path is 400 DIGEST_INVALID", async () => {
    await expectError(await req("GET", "/v2/get/f/blobs/sha256:abc"), 400, "DIGEST_INVALID");
  });
});

describe("blob DELETE", () => {
  it("unlinks the blob from that repository only", async () => {
    const digest = await pushBlob("del/a", "shared");
    await pushBlob("del/b", "shared");
    expect((await req("DELETE", `/v2/del/a/blobs/${digest}`)).status).toBe(202);
    expect((await req("HEAD", `/v2/del/a/blobs/${digest}`)).status).toBe(404);
    expect((await req("HEAD", `/v2/del/b/blobs/${digest}`)).status).toBe(200);
    await expectError(await req("DELETE", `/v2/del/a/blobs/${digest}`), 404, "BLOB_UNKNOWN");
  });
});
