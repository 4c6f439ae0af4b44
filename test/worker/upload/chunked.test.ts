/**
 * Chunked uploads through the whole Worker: irregular chunks re-cut into equal R2 parts (the simulator
 * refuses unequal parts with 10048, so a wrong cut fails the final PUT), the session losing its in-memory
 * hasher (eviction) and verifying by read-back, order enforcement.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cut, dataKeys, expectError, finish, indexedDataKey, MiB, noise, openSession, PART, patch, patchAll, rangeOf, req, sessionRange, sessionStub, sha256, storedDigest } from "../harness";

describe("chunked uploads re-cut into equal parts", () => {
  it("accepts 1-byte, 7 MB and odd chunks in any mix and stores the exact bytes", async () => {
    const data = noise(23 * MiB + 12345);
    const digest = await sha256(data);
    const loc = await openSession("big/mix");
    const chunks = cut(data, [1, 7_000_000, 1, 3 * MiB + 7, 1, 11 * MiB, 2]);
    expect(await patchAll(loc, chunks)).toBe(data.length);
    const res = await finish(loc, digest);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(await storedDigest(digest)).toBe(digest);
    // One multipart object of 4 full 5 MiB parts and a shorter last one (R2's etag ends in -<parts>).
    const obj = await env.BUCKET.head((await indexedDataKey(digest))!);
    expect(obj?.etag).toMatch(/-5$/);
    expect(obj?.size).toBe(data.length);
    const head = await req("HEAD", `/v2/big/mix/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(data.length));
  });

  it("a blob that is an exact multiple of the part size (empty tail at the end)", async () => {
    const data = noise(2 * PART);
    const digest = await sha256(data);
    const loc = await openSession("big/exact");
    await patchAll(loc, cut(data, [PART - 1, 2, PART - 1]));
    const res = await finish(loc, digest);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await storedDigest(digest)).toBe(digest);
  });

  it("the last chunk may come with the final PUT", async () => {
    const data = noise(PART + 999);
    const digest = await sha256(data);
    const loc = await openSession("big/putlast");
    await patchAll(loc, [data.subarray(0, PART - 5)]);
    const last = data.subarray(PART - 5);
    const res = await req("PUT", `${loc}?digest=${digest}`, {
      body: last,
      headers: { "Content-Length": String(last.length), "Content-Range": `${PART - 5}-${data.length - 1}` },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await storedDigest(digest)).toBe(digest);
  });

  it("an out-of-order chunk gets 416 and changes nothing", async () => {
    const data = noise(PART + 100);
    const digest = await sha256(data);
    const loc = await openSession("big/order");
    await patchAll(loc, [data.subarray(0, 1000)]);
    const ahead = await patch(loc, data.subarray(2000, 3000), 2000);
    await expectError(ahead, 416, "RANGE_INVALID");
    expect(ahead.headers.get("Range")).toBe(rangeOf(1000));
    const replay = await patch(loc, data.subarray(0, 1000), 0);
    await expectError(replay, 416, "RANGE_INVALID");
    expect(await sessionRange(loc)).toBe(rangeOf(1000));
    await patchAll(loc, [data.subarray(1000)], 1000);
    expect((await finish(loc, digest)).status).toBe(201);
    expect(await storedDigest(digest)).toBe(digest);
  });
});

/** Whether the session object currently holds an in-memory hasher (the fast path is possible). */
function hasHasher(loc: string): Promise<boolean> {
  return runInDurableObject(sessionStub(loc), (session) => (session as unknown as { hasher: unknown }).hasher != null);
}

describe("the session loses its in-memory hasher (evicted between chunks)", () => {
  it("verifies the digest by reading the object back (in more than one ranged read)", async () => {
    const data = noise(5 * PART + 4321); // the read-back window is 4 parts
    const digest = await sha256(data);
    const loc = await openSession("big/evicted");
    const chunks = cut(data, [7_000_000, 1, 4 * MiB]);
    await patchAll(loc, chunks.slice(0, 2));
    expect(await hasHasher(loc)).toBe(true);
    await evictDurableObject(sessionStub(loc));
    expect(await hasHasher(loc)).toBe(false);
    expect(await sessionRange(loc)).toBe(rangeOf(7_000_001));
    await patchAll(loc, chunks.slice(2), 7_000_001);
    await evictDurableObject(sessionStub(loc));
    const res = await finish(loc, digest);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await storedDigest(digest)).toBe(digest);
  });

  it("a wrong digest after eviction stores nothing and deletes the completed object", async () => {
    const data = noise(PART + 77);
    const right = await sha256(data);
    const wrong = await sha256("something else");
    const before = (await dataKeys()).length;
    const loc = await openSession("big/evicted-bad");
    await patchAll(loc, [data]);
    await evictDurableObject(sessionStub(loc));
    await expectError(await finish(loc, wrong), 400, "DIGEST_INVALID");
    for (const d of [right, wrong]) {
      expect((await req("HEAD", `/v2/big/evicted-bad/blobs/${d}`)).status).toBe(404);
      expect(await indexedDataKey(d)).toBeNull();
    }
    expect((await dataKeys()).length).toBe(before);
    await expectError(await req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
  });
});

describe("digest mismatch with the hasher intact", () => {
  it("stores nothing under either digest and ends the session", async () => {
    const data = noise(2 * PART + 5);
    const right = await sha256(data);
    const wrong = await sha256(noise(10));
    const before = (await dataKeys()).length;
    const loc = await openSession("big/bad");
    await patchAll(loc, cut(data, [PART + 3, 1]));
    await expectError(await finish(loc, wrong), 400, "DIGEST_INVALID");
    for (const d of [right, wrong]) {
      expect((await req("HEAD", `/v2/big/bad/blobs/${d}`)).status).toBe(404);
      expect(await indexedDataKey(d)).toBeNull();
    }
    expect((await dataKeys()).length).toBe(before);
    await expectError(await req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
  });
});
