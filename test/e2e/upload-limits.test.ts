/**
 * Chunk limits and abandoned sessions on the real local server: MAX_CHUNK_BYTES is advertised and
 * enforced with a 413 that reaches the client, and a session untouched for UPLOAD_SESSION_TTL_SECONDS
 * is removed by its alarm, its R2 multipart upload aborted (its part files leave the simulator's disk).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWharf, type Wharf } from "./harness";
import { finish, MiB, noise, openSession, patch, patchAll, rangeOf, sessionRange, sha256 } from "./uploads-client";

const PART = 5 * MiB;
const MAX = 8 * MiB;
let wharf: Wharf;

beforeAll(async () => {
  wharf = await startWharf({ UPLOAD_PART_SIZE: String(PART), MAX_CHUNK_BYTES: String(MAX), UPLOAD_SESSION_TTL_SECONDS: "2" });
});
afterAll(async () => {
  await wharf?.stop();
});

/** Files holding R2 object and part bytes in the local simulator's state. */
function r2BlobFiles(): number {
  const dir = join(wharf.dataDir, "v3", "r2", "wharf", "blobs");
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0];
}

describe("abandoned sessions", () => {
  it("the alarm removes the session and aborts its multipart upload", async () => {
    const before = r2BlobFiles();
    const loc = await openSession(wharf.url, "lim/abandoned");
    await patchAll(loc, [noise(PART + MiB)]); // one part stored in R2, 1 MiB tail in the session
    expect(r2BlobFiles()).toBe(before + 1);
    const deadline = Date.now() + 20_000;
    let res = await fetch(loc);
    while (res.status !== 404 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      res = await fetch(loc);
    }
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("BLOB_UPLOAD_UNKNOWN");
    // Aborting deletes the part's bytes in the background.
    while (r2BlobFiles() !== before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(r2BlobFiles()).toBe(before);
  });
});

describe("chunk limits", () => {
  it("POST and PATCH advertise OCI-Chunk-Min-Length and OCI-Chunk-Max-Length", async () => {
    const post = await fetch(`${wharf.url}/v2/lim/headers/blobs/uploads/`, { method: "POST" });
    expect(post.status).toBe(202);
    expect(post.headers.get("OCI-Chunk-Min-Length")).toBe(String(PART));
    expect(post.headers.get("OCI-Chunk-Max-Length")).toBe(String(MAX));
    const loc = new URL(post.headers.get("Location")!, wharf.url).toString();
    const res = await patch(loc, noise(100), 0);
    expect(res.status).toBe(202);
    expect(res.headers.get("OCI-Chunk-Min-Length")).toBe(String(PART));
    expect(res.headers.get("OCI-Chunk-Max-Length")).toBe(String(MAX));
  });

  it("a chunk over the limit gets 413 telling the client to push in chunks, and changes nothing", async () => {
    const data = noise(2 * MAX + 3);
    const digest = sha256(data);
    const loc = await openSession(wharf.url, "lim/big");
    const first = await patchAll(loc, [data.subarray(0, MiB)]);
    const res = await patch(loc, data.subarray(first, first + MAX + 1), first);
    expect(res.status).toBe(413);
    const err = await errorOf(res);
    expect(err.code).toBe("SIZE_INVALID");
    expect(err.message).toMatch(/in chunks/);
    expect(err.message).toContain(String(MAX));
    expect(await sessionRange(loc)).toBe(rangeOf(first));
    await patchAll(loc, [data.subarray(first, first + MAX), data.subarray(first + MAX)], first);
    const done = await finish(loc, digest);
    expect(done.status, await done.text()).toBe(201);
  });

  it("a monolithic upload over the limit gets the same 413", async () => {
    const data = noise(MAX + 1);
    const res = await fetch(`${wharf.url}/v2/lim/mono/blobs/uploads/?digest=${sha256(data)}`, { method: "POST", body: data });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).message).toMatch(/in chunks/);
    expect((await fetch(`${wharf.url}/v2/lim/mono/blobs/${sha256(data)}`, { method: "HEAD" })).status).toBe(404);
  });
});

describe("streamed bodies (no Content-Length, as docker sends them)", () => {
  it("are cut at the limit with a 413 that reaches the client; the session keeps its last good offset", async () => {
    const data = noise(MAX + 4 * MiB);
    const loc = await openSession(wharf.url, "lim/streamed");
    let pos = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pos >= data.length) return c.close();
        c.enqueue(data.subarray(pos, pos + 64 * 1024));
        pos += 64 * 1024;
      },
    });
    const res = await fetch(loc, { method: "PATCH", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    const err = await errorOf(res);
    expect(err.code).toBe("SIZE_INVALID");
    expect(err.message).toMatch(/in chunks.*wharf daemon/);
    const range = res.headers.get("Range")!;
    const kept = Number(range.split("-")[1]) + 1;
    expect(kept).toBeLessThanOrEqual(MAX);
    expect(await sessionRange(loc)).toBe(range);
    await patchAll(loc, [data.subarray(kept)], kept);
    const done = await finish(loc, sha256(data));
    expect(done.status, await done.text()).toBe(201);
  });
});
