import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseDigest } from "../../../src/oci/grammar";
import { paths } from "../../../src/worker/storage/paths";
import { expectError, openSession, pushBlob, randomBytes, req, sha256 } from "../harness";

const MiB = 1024 * 1024;

async function patch(location: string, body: Uint8Array, range?: [number, number]): Promise<Response> {
  const headers: Record<string, string> = {};
  if (range) headers["Content-Range"] = `${range[0]}-${range[1]}`;
  return req("PATCH", location, { body, headers });
}

/** GET the blob and check its bytes hash to `digest` and have the expected length. */
async function expectBlob(name: string, digest: string, length: number): Promise<void> {
  const res = await req("GET", `/v2/${name}/blobs/${digest}`, { redirect: "follow" });
  expect(res.status).toBe(200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(bytes.length).toBe(length);
  expect(await sha256(bytes)).toBe(digest);
}

describe("upload sessions", () => {
  it("POST opens a session: 202, unguessable Location, Range 0-0, chunk hint", async () => {
    const res = await req("POST", "/v2/uploading/a/blobs/uploads/");
    expect(res.status).toBe(202);
    expect(res.headers.get("Location")).toMatch(/^\/v2\/uploading\/a\/blobs\/uploads\/[0-9a-f]{64}$/);
    expect(res.headers.get("Range")).toBe("0-0");
    expect(Number(res.headers.get("OCI-Chunk-Min-Length"))).toBe(5 * MiB);
    const other = (await req("POST", "/v2/uploading/a/blobs/uploads/")).headers.get("Location");
    expect(other).not.toBe(res.headers.get("Location"));
  });

  it("streamed PATCH without Content-Range, then PUT with an empty body (docker/skopeo flow)", async () => {
    const data = randomBytes(12 * MiB + 12345); // two full 5 MiB parts + tail
    const digest = await sha256(data);
    const loc = await openSession("uploading/stream");
    const p = await patch(loc, data);
    expect(p.status).toBe(202);
    expect(p.headers.get("Range")).toBe(`0-${data.length - 1}`);
    const put = await req("PUT", `${loc}?digest=${digest}`);
    expect(put.status).toBe(201);
    expect(put.headers.get("Location")).toBe(`/v2/uploading/stream/blobs/${digest}`);
    expect(put.headers.get("Docker-Content-Digest")).toBe(digest);
    await expectBlob("uploading/stream", digest, data.length);
    // The session is gone once committed.
    await expectError(await req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
  });

  it("chunked PATCHes of irregular sizes with Content-Range, last chunk in the PUT", async () => {
    const data = randomBytes(11 * MiB + 7);
    const digest = await sha256(data);
    const loc = await openSession("uploading/chunks");
    const cuts = [0, 1, 7 * MiB, 7 * MiB + 1, 9 * MiB + 3, 10 * MiB];
    for (let i = 0; i < cuts.length - 1; i++) {
      const res = await patch(loc, data.slice(cuts[i], cuts[i + 1]), [cuts[i], cuts[i + 1] - 1]);
      expect(res.status).toBe(202);
      expect(res.headers.get("Range")).toBe(`0-${cuts[i + 1] - 1}`);
    }
    const status = await req("GET", loc);
    expect(status.status).toBe(204);
    expect(status.headers.get("Range")).toBe(`0-${10 * MiB - 1}`);
    const last = data.slice(10 * MiB);
    const put = await req("PUT", `${loc}?digest=${digest}`, {
      body: last,
      headers: { "Content-Range": `${10 * MiB}-${data.length - 1}` },
    });
    expect(put.status).toBe(201);
    await expectBlob("uploading/chunks", digest, data.length);
  });

  it("a sha512 digest is verified by reading the object back", async () => {
    const data = randomBytes(6 * MiB + 99);
    const h = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
    const digest = `sha512:${[...h].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    const loc = await openSession("uploading/sha512");
    expect((await patch(loc, data)).status).toBe(202);
    const wrong = await openSession("uploading/sha512");
    expect((await patch(wrong, data.slice(1))).status).toBe(202);
    await expectError(await req("PUT", `${wrong}?digest=${digest}`), 400, "DIGEST_INVALID");
    expect((await req("PUT", `${loc}?digest=${digest}`)).status).toBe(201);
    const head = await req("HEAD", `/v2/uploading/sha512/blobs/${digest}`);
    expect(head.headers.get("Content-Length")).toBe(String(data.length));
  });

  it("POST then a single PUT with the whole body (monolithic through a session)", async () => {
    const data = randomBytes(4000);
    const digest = await sha256(data);
    const loc = await openSession("uploading/single");
    expect((await req("PUT", `${loc}?digest=${digest}`, { body: data })).status).toBe(201);
    await expectBlob("uploading/single", digest, data.length);
  });

  it("a chunk that does not start at the current offset is 416 and changes nothing", async () => {
    const data = randomBytes(3000);
    const digest = await sha256(data);
    const loc = await openSession("uploading/order");
    expect((await patch(loc, data.slice(0, 1000), [0, 999])).status).toBe(202);
    const skip = await patch(loc, data.slice(2000), [2000, 2999]);
    expect(skip.status).toBe(416);
    expect(skip.headers.get("Range")).toBe("0-999");
    const resend = await patch(loc, data.slice(0, 1000), [0, 999]);
    expect(resend.status).toBe(416);
    expect((await req("GET", loc)).headers.get("Range")).toBe("0-999");
    expect((await patch(loc, data.slice(1000), [1000, 2999])).status).toBe(202);
    expect((await req("PUT", `${loc}?digest=${digest}`)).status).toBe(201);
    await expectBlob("uploading/order", digest, data.length);
  });

  it("Content-Range that disagrees with the body length is refused", async () => {
    const loc = await openSession("uploading/badrange");
    const res = await req("PATCH", loc, { body: new Uint8Array(10), headers: { "Content-Range": "0-19" } });
    expect(res.status).toBe(416);
    await expectError(await req("PATCH", loc, { body: new Uint8Array(1), headers: { "Content-Range": "zero-one" } }), 416, "RANGE_INVALID");
    expect((await req("GET", loc)).headers.get("Range")).toBe("0-0");
  });

  it("a digest mismatch at PUT is DIGEST_INVALID and stores nothing under any digest", async () => {
    const data = randomBytes(6 * MiB); // one full part written to R2 multipart before the PUT
    const real = await sha256(data);
    const claimed = await sha256("not it");
    const before = (await env.BUCKET.list({ prefix: "data/" })).objects.length;
    const loc = await openSession("uploading/mismatch");
    expect((await patch(loc, data)).status).toBe(202);
    await expectError(await req("PUT", `${loc}?digest=${claimed}`), 400, "DIGEST_INVALID");
    for (const d of [real, claimed]) {
      expect((await req("HEAD", `/v2/uploading/mismatch/blobs/${d}`)).status).toBe(404);
      expect(await env.BUCKET.head(paths.blobIndex(parseDigest(d)))).toBeNull();
    }
    expect((await env.BUCKET.list({ prefix: "data/" })).objects.length).toBe(before);
    await expectError(await req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
  });

  it("PUT without a digest, or with a bad one, is DIGEST_INVALID and keeps the session", async () => {
    const loc = await openSession("uploading/nodigest");
    await expectError(await req("PUT", loc), 400, "DIGEST_INVALID");
    await expectError(await req("PUT", `${loc}?digest=sha256:nothex`), 400, "DIGEST_INVALID");
    expect((await req("GET", loc)).status).toBe(204);
  });

  it("DELETE cancels a session", async () => {
    const loc = await openSession("uploading/cancel");
    expect((await patch(loc, randomBytes(100))).status).toBe(202);
    expect((await req("DELETE", loc)).status).toBe(204);
    await expectError(await req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectError(await req("PATCH", loc, { body: "x" }), 404, "BLOB_UPLOAD_UNKNOWN");
  });

  it("unknown, malformed, and other repositories' session ids are BLOB_UPLOAD_UNKNOWN", async () => {
    await expectError(await req("GET", "/v2/uploading/x/blobs/uploads/nope"), 404, "BLOB_UPLOAD_UNKNOWN");
    const fresh = env.UPLOADS.newUniqueId().toString();
    await expectError(await req("GET", `/v2/uploading/x/blobs/uploads/${fresh}`), 404, "BLOB_UPLOAD_UNKNOWN");
    const loc = await openSession("uploading/owner");
    await expectError(await req("GET", loc.replace("/uploading/owner/", "/uploading/thief/")), 404, "BLOB_UPLOAD_UNKNOWN");
  });

  it("uploading content that already exists keeps one copy", async () => {
    const data = randomBytes(2000);
    const digest = await pushBlob("uploading/dup1", data);
    const loc = await openSession("uploading/dup2");
    expect((await patch(loc, data)).status).toBe(202);
    expect((await req("PUT", `${loc}?digest=${digest}`)).status).toBe(201);
    const index = await env.BUCKET.head(paths.blobIndex(parseDigest(digest)));
    const dataObjects = (await env.BUCKET.list({ prefix: "data/" })).objects.filter((o) => o.size === 2000);
    expect(dataObjects.map((o) => o.key)).toEqual([index!.customMetadata!.data]);
    await expectBlob("uploading/dup2", digest, data.length);
  });
});

describe("cross-repository mount", () => {
  it("mounts with from: 201 and the blob is readable in the new repository", async () => {
    const digest = await pushBlob("mnt/src", "mount me");
    const res = await req("POST", `/v2/mnt/dst/blobs/uploads/?mount=${digest}&from=mnt/src`);
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toBe(`/v2/mnt/dst/blobs/${digest}`);
    expect((await req("HEAD", `/v2/mnt/dst/blobs/${digest}`)).status).toBe(200);
  });

  it("mounts automatically without from when the blob exists", async () => {
    const digest = await pushBlob("mnt/src2", "auto mount");
    expect((await req("POST", `/v2/mnt/auto/blobs/uploads/?mount=${digest}`)).status).toBe(201);
  });

  it("falls back to a session (202) when the source does not have it", async () => {
    const digest = await sha256("never pushed");
    const res = await req("POST", `/v2/mnt/dst2/blobs/uploads/?mount=${digest}&from=mnt/src`);
    expect(res.status).toBe(202);
    expect(res.headers.get("Location")).toMatch(/\/blobs\/uploads\//);
    const other = await pushBlob("mnt/src3", "only in src3");
    expect((await req("POST", `/v2/mnt/dst2/blobs/uploads/?mount=${other}&from=mnt/src`)).status).toBe(202);
  });
});
