import { describe, expect, it } from "vitest";
import { byteChunks } from "../../../src/worker/upload/byte-chunks";
import { randomBytes } from "../harness";

/** A byte stream (as request bodies are) that delivers `data` in pieces of `piece` bytes. */
function byteStream(data: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream({
    type: "bytes",
    pull(c) {
      if (pos >= data.length) return c.close();
      c.enqueue(data.slice(pos, pos + piece));
      pos += piece;
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of byteChunks(body, size)) out.push(c);
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

describe("byteChunks", () => {
  it("gathers small pieces of a byte stream into chunks of the asked size, last one shorter, bytes in order", async () => {
    const data = randomBytes(10 * 4096 + 100);
    const chunks = await collect(byteStream(data, 4096), 16384);
    expect(chunks.map((c) => c.length)).toEqual([16384, 16384, 8292]);
    expect(concat(chunks)).toEqual(data);
  });

  it("reads a stream that is not a byte stream as it comes", async () => {
    const data = randomBytes(3000);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(data.slice(0, 1000));
        c.enqueue(data.slice(1000));
        c.close();
      },
    });
    const chunks = await collect(body, 16384);
    expect(chunks.map((c) => c.length)).toEqual([1000, 2000]);
    expect(concat(chunks)).toEqual(data);
  });

  it("an empty body yields nothing", async () => {
    expect(await collect(byteStream(new Uint8Array(0), 4096), 16384)).toEqual([]);
  });
});
