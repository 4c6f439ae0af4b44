// A streamed PATCH with a known length becomes one R2 object (storage/blob-writer.ts putWhole); these pin down
// what happens around it: later chunks, digest mismatch, cancel, and bodies without a length.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oci/grammar";
import { paths } from "../../src/worker/storage/paths";
import { expectError, openSession, randomBytes, req, sha256 } from "./helpers";

const MiB = 1024 * 1024;

async function dataKeys(): Promise<string[]> {
  return (await env.BUCKET.list({ prefix: "data/" })).objects.map((o) => o.key);
}

/** The blob's data object, as its content index names it. */
async function dataObjectOf(digest: string): Promise<R2Object> {
  const idx = await env.BUCKET.head(paths.blobIndex(parseDigest(digest)));
  const obj = await env.BUCKET.head(idx!.customMetadata!.data);
  expect(obj).not.toBeNull();
  return obj!;
}

async function expectBlob(name: string, digest: string, data: Uint8Array): Promise<void> {
  const res = await req("GET", `/v2/${name}/blobs/${digest}`, { redirect: "follow" });
  expect(res.status).toBe(200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(bytes.length).toBe(data.length);
  expect(await sha256(bytes)).toBe(digest);
}

function streamOf(data: Uint8Array, piece = 64 * 1024): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream({
    pull(c) {
      if (pos >= data.length) return c.close();
      c.enqueue(data.slice(pos, pos + piece));
      pos += piece;
    },
  });
}

describe("whole-blob PATCH", () => {
  it("a streamed PATCH with Content-Length is stored as one plain object (not multipart), digest checked", async () => {
    const data = randomBytes(12 * MiB + 5, 31); // above two 5 MiB parts
    const digest = await sha256(data);
    const loc = await openSession("whole/one");
    const p = await req("PATCH", loc, { body: data });
    expect(p.status).toBe(202);
    expect(p.headers.get("Range")).toBe(`0-${data.length - 1}`);
    const status = await req("GET", loc);
    expect(status.headers.get("Range")).toBe(`0-${data.length - 1}`);
    expect((await req("PUT", `${loc}?digest=${digest}`)).status).toBe(201);
    const obj = await dataObjectOf(digest);
    expect(obj.size).toBe(data.length);
    expect(obj.etag).not.toContain("-"); // multipart etags end in -<parts>
    await expectBlob("whole/one", digest, data);
  });

  it("a chunk after a whole-blob PATCH re-cuts the object into parts, and the blob comes out whole", async () => {
    const data = randomBytes(9 * MiB + 77, 32);
    const digest = await sha256(data);
    const loc = await openSession("whole/more");
    expect((await req("PATCH", loc, { body: data.slice(0, 6 * MiB) })).status).toBe(202);
    const second = await req("PATCH", loc, { body: data.slice(6 * MiB, 8 * MiB), headers: { "Content-Range": `${6 * MiB}-${8 * MiB - 1}` } });
    expect(second.status).toBe(202);
    expect(second.headers.get("Range")).toBe(`0-${8 * MiB - 1}`);
    const put = await req("PUT", `${loc}?digest=${digest}`, { body: data.slice(8 * MiB), headers: { "Content-Range": `${8 * MiB}-${data.length - 1}` } });
    expect(put.status).toBe(201);
    await expectBlob("whole/more", digest, data);
  });

  it("a small whole-blob PATCH followed by a chunk that stays under one part", async () => {
    const data = randomBytes(3 * MiB, 33);
    const digest = await sha256(data);
    const loc = await openSession("whole/small");
    expect((await req("PATCH", loc, { body: data.slice(0, MiB) })).status).toBe(202);
    expect((await req("PATCH", loc, { body: data.slice(MiB), headers: { "Content-Range": `${MiB}-${data.length - 1}` } })).status).toBe(202);
    expect((await req("PUT", `${loc}?digest=${digest}`)).status).toBe(201);
    await expectBlob("whole/small", digest, data);
  });

  it("a wrong digest after a whole-blob PATCH is DIGEST_INVALID and leaves no data object behind", async () => {
    const before = await dataKeys();
    const data = randomBytes(6 * MiB, 34);
    const loc = await openSession("whole/bad");
    expect((await req("PATCH", loc, { body: data })).status).toBe(202);
    expect((await dataKeys()).length).toBe(before.length + 1);
    const wrong = await sha256("something else");
    await expectError(await req("PUT", `${loc}?digest=${wrong}`), 400, "DIGEST_INVALID");
    expect(await dataKeys()).toEqual(before);
    expect(await env.BUCKET.head(paths.blobIndex(parseDigest(wrong)))).toBeNull();
  });

  it("cancelling after a whole-blob PATCH deletes its object", async () => {
    const before = await dataKeys();
    const loc = await openSession("whole/cancel");
    expect((await req("PATCH", loc, { body: randomBytes(2 * MiB, 35) })).status).toBe(202);
    expect((await req("DELETE", loc)).status).toBe(204);
    expect(await dataKeys()).toEqual(before);
  });

  it("a streamed PATCH without Content-Length (chunked encoding, as docker sends) still goes through parts", async () => {
    const data = randomBytes(11 * MiB + 3, 36);
    const digest = await sha256(data);
    const loc = await openSession("whole/nolength");
    const p = await req("PATCH", loc, { body: streamOf(data), duplex: "half" } as RequestInit);
    expect(p.status).toBe(202);
    expect(p.headers.get("Range")).toBe(`0-${data.length - 1}`);
    expect((await req("PUT", `${loc}?digest=${digest}`)).status).toBe(201);
    expect((await dataObjectOf(digest)).etag).toContain("-"); // multipart
    await expectBlob("whole/nolength", digest, data);
  });
});
