// MAX_CHUNK_BYTES on bodies streamed without Content-Length (docker's PATCH): counted and cut at the
// limit with 413 SIZE_INVALID, the session left at its last good offset, from which the push continues.
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/worker/index";
import type { Env } from "../../src/worker/config";
import { BASE, randomBytes, sha256 } from "./harness";
import { MiB } from "./harness";

const MAX = 6 * MiB;
const limit = { MAX_CHUNK_BYTES: String(MAX) };

function call(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  const url = path.startsWith("http") ? path : BASE + path;
  return worker.fetch(new Request(url, { method, ...init }), { ...(env as unknown as Env), ...limit }, createExecutionContext());
}

/** A body with no Content-Length: a stream handed out in 256 KiB pieces, as chunked encoding delivers it. */
function streamed(data: Uint8Array): RequestInit {
  let pos = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pos >= data.length) return c.close();
      c.enqueue(data.slice(pos, pos + 256 * 1024));
      pos += 256 * 1024;
    },
  });
  return { body, duplex: "half" } as RequestInit;
}

const offsetOf = (range: string | null) => Number(range!.split("-")[1]) + 1;

async function open(name: string): Promise<string> {
  const post = await call("POST", `/v2/${name}/blobs/uploads/`);
  expect(post.status).toBe(202);
  return post.headers.get("Location")!;
}

describe("MAX_CHUNK_BYTES on streamed bodies", () => {
  it("a streamed PATCH under the limit is taken whole", async () => {
    const data = randomBytes(MAX);
    const loc = await open("lim/streamed-ok");
    const res = await call("PATCH", loc, streamed(data));
    expect(res.status, await res.clone().text()).toBe(202);
    expect(res.headers.get("Range")).toBe(`0-${MAX - 1}`);
    const done = await call("PUT", `${loc}?digest=${await sha256(data)}`, { headers: { "Content-Length": "0" } });
    expect(done.status).toBe(201);
  });

  it("past the limit: 413 SIZE_INVALID saying to push in chunks or through wharf daemon; the session rests at its last good offset and the push can go on", async () => {
    const data = randomBytes(MAX + 3 * MiB);
    const loc = await open("lim/streamed-big");
    const res = await call("PATCH", loc, streamed(data));
    expect(res.status).toBe(413);
    const err = ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0];
    expect(err.code).toBe("SIZE_INVALID");
    expect(err.message).toMatch(/in chunks/);
    expect(err.message).toContain("wharf daemon");
    expect(err.message).toContain(String(MAX));
    // Where the session stands: what it kept, never past the limit, and what GET reports too.
    const kept = offsetOf(res.headers.get("Range"));
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(MAX);
    const status = await call("GET", loc);
    expect(status.status).toBe(204);
    expect(offsetOf(status.headers.get("Range"))).toBe(kept);
    // The kept bytes are the body's first bytes: the rest goes up in a chunk and the digest matches.
    const rest = data.subarray(kept);
    const more = await call("PATCH", loc, {
      body: rest,
      headers: { "Content-Length": String(rest.length), "Content-Range": `${kept}-${data.length - 1}` },
    });
    expect(more.status, await more.clone().text()).toBe(202);
    const done = await call("PUT", `${loc}?digest=${await sha256(data)}`, { headers: { "Content-Length": "0" } });
    expect(done.status, await done.clone().text()).toBe(201);
  });

  it("a streamed final PUT past the limit gets the same 413 and commits nothing", async () => {
    const data = randomBytes(MAX + MiB);
    const digest = await sha256(data);
    const loc = await open("lim/streamed-put");
    const res = await call("PUT", `${loc}?digest=${digest}`, streamed(data));
    expect(res.status).toBe(413);
    expect((await call("HEAD", `/v2/lim/streamed-put/blobs/${digest}`)).status).toBe(404);
    expect((await call("GET", loc)).status).toBe(204); // the session is still there to continue
  });
});
