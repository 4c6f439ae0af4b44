// End to end: the client library's chunked blob push against the real server, with chunks smaller than
// the blob, and resuming after the server is stopped mid-push and started again (harness restart()).
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeClient } from "../../src/node/client";
import { pushBlob } from "../../src/client/upload";
import { startWharf, type Wharf } from "./harness";

const MiB = 1024 * 1024;
const PART = 5 * MiB;

let wharf: Wharf;

beforeAll(async () => {
  wharf = await startWharf({ UPLOAD_PART_SIZE: String(PART) });
});

afterAll(async () => {
  await wharf?.stop();
});

/** Deterministic incompressible bytes. */
function bytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 64) createHash("sha512").update(`${seed}:${i}`).digest().copy(out, i);
  return out;
}

/** A re-openable source handing out the data in 1 MiB pieces. */
const source = (data: Buffer) => ({
  async *open() {
    for (let i = 0; i < data.length; i += MiB) yield data.subarray(i, i + MiB);
  },
});

const digestOf = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** fetch that records each PATCH (Content-Range) on its way to the real server. */
function recordingFetch(log: string[], before?: (n: number) => Promise<void>): typeof fetch {
  return async (input, init) => {
    if (init?.method === "PATCH") {
      log.push(String((init.headers as Record<string, string>)["Content-Range"]));
      await before?.(log.length);
    }
    return fetch(input, init);
  };
}

async function fetchBlob(repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${wharf.url}/v2/${repo}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe("chunked push", () => {
  it("sends a 13 MiB blob in chunks of the registry's minimum when asked for smaller ones", async () => {
    const data = bytes(13 * MiB, "chunked");
    const patches: string[] = [];
    const client = nodeClient(wharf.host, { fetch: recordingFetch(patches) });
    const pushed = await pushBlob(client, "up/chunked", source(data), { chunkSize: 1 * MiB, forceChunked: true });
    // 1 MiB asked, raised to the advertised OCI-Chunk-Min-Length (the part size).
    expect(pushed.chunkSize).toBe(PART);
    expect(patches).toEqual([`0-${PART - 1}`, `${PART}-${2 * PART - 1}`, `${2 * PART}-${13 * MiB - 1}`]);
    expect(pushed.digest).toBe(digestOf(data));
    expect(pushed.size).toBe(data.length);
    expect((await fetchBlob("up/chunked", pushed.digest)).equals(data)).toBe(true);

    // Pushing again is skipped by a HEAD once the digest is known.
    const again = await pushBlob(client, "up/chunked", source(data), { digest: pushed.digest, size: data.length });
    expect(again.how).toBe("exists");
    expect(patches.length).toBe(3);
  });

  it("resumes after the server is stopped mid-push and started again", async () => {
    const data = bytes(17 * MiB, "resume");
    const patches: string[] = [];
    let restarted: Promise<void> | null = null;
    // Before the third chunk goes out, stop the server (and start it again in the background); the
    // chunk then meets a dead socket and the client has to find out where the session stands.
    const before = async (n: number) => {
      if (n !== 3 || restarted) return;
      restarted = wharf.restart();
      for (let i = 0; i < 100; i++) {
        try {
          await fetch(`${wharf.url}/v2/`);
        } catch {
          return; // down
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const client = nodeClient(wharf.host, { fetch: recordingFetch(patches, before), retry: { baseDelayMs: 200, maxDelayMs: 2000 } });
    const pushed = await pushBlob(client, "up/resume", source(data), { chunkSize: PART, forceChunked: true, resumeTimeoutMs: 90_000 });
    await restarted;
    expect(pushed.resumes).toBeGreaterThanOrEqual(1);
    expect(pushed.digest).toBe(digestOf(data));
    // The third chunk was sent at least twice: once into the stopped server, once after it came back.
    expect(patches.filter((p) => p === `${2 * PART}-${3 * PART - 1}`).length).toBeGreaterThanOrEqual(2);
    expect((await fetchBlob("up/resume", pushed.digest)).equals(data)).toBe(true);
  });
});

describe("a chunk cut off mid-body", () => {
  it("continues from the offset the session kept, inside the chunk", async () => {
    const data = bytes(12 * MiB, "cut");
    const patches: string[] = [];
    // The second PATCH's body breaks off after 2 MiB, as when a connection drops mid-request.
    const cutting: typeof fetch = async (input, init) => {
      if (init?.method === "PATCH") {
        patches.push(String((init.headers as Record<string, string>)["Content-Range"]));
        if (patches.length === 2 && init.body instanceof ReadableStream) {
          const reader = (init.body as ReadableStream<Uint8Array>).getReader();
          let sent = 0;
          const broken = new ReadableStream<Uint8Array>({
            async pull(c) {
              if (sent >= 2 * MiB) return c.error(new Error("connection dropped"));
              const { done, value } = await reader.read();
              if (done) return c.close();
              sent += value.byteLength;
              c.enqueue(value);
            },
          });
          return fetch(input, { ...init, body: broken });
        }
      }
      return fetch(input, init);
    };
    const client = nodeClient(wharf.host, { fetch: cutting, retry: { baseDelayMs: 100 } });
    const pushed = await pushBlob(client, "up/cut", source(data), { chunkSize: PART, forceChunked: true });
    expect(pushed.resumes).toBeGreaterThanOrEqual(1);
    expect(pushed.digest).toBe(digestOf(data));
    // After the cut, the next PATCH starts where the session stood: past the chunk's start, inside it.
    const third = Number(patches[2].split("-")[0]);
    expect(third).toBeGreaterThan(PART);
    expect(third).toBeLessThan(2 * PART);
    expect((await fetchBlob("up/cut", pushed.digest)).equals(data)).toBe(true);
  });
});

describe("behind a request body limit (MAX_CHUNK_BYTES, as behind Cloudflare)", () => {
  let limited: Wharf;
  const LIMIT = 6 * MiB;

  beforeAll(async () => {
    limited = await startWharf({ UPLOAD_PART_SIZE: String(PART), MAX_CHUNK_BYTES: String(LIMIT) });
  });
  afterAll(async () => {
    await limited?.stop();
  });

  it("keeps every PATCH under the advertised OCI-Chunk-Max-Length, where one big PATCH is refused", async () => {
    const data = bytes(14 * MiB, "limited");
    const patches: string[] = [];
    const client = nodeClient(limited.host, { fetch: recordingFetch(patches) });
    // The default chunk size (16 MiB) is above the limit: the client lowers it to 6 MiB.
    const pushed = await pushBlob(client, "up/limited", source(data), { digest: digestOf(data), size: data.length });
    expect(pushed.chunkSize).toBe(LIMIT);
    expect(patches).toEqual([`0-${LIMIT - 1}`, `${LIMIT}-${2 * LIMIT - 1}`, `${2 * LIMIT}-${14 * MiB - 1}`]);
    const res = await fetch(`${limited.url}/v2/up/limited/blobs/${pushed.digest}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);

    // What docker and skopeo do (the whole blob in one PATCH) is refused with a clear error.
    const start = await fetch(`${limited.url}/v2/up/single/blobs/uploads/`, { method: "POST" });
    const one = await fetch(new URL(start.headers.get("Location")!, limited.url), {
      method: "PATCH", body: new Uint8Array(data), headers: { "Content-Type": "application/octet-stream" },
    });
    expect(one.status).toBe(413);
    expect(JSON.stringify(await one.json())).toMatch(/in chunks/);
  });
});
