import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { crc32 as zlibCrc32, gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32, jsCrc32, parallelGzip } from "../../src/node/archive/parallel-gzip";

async function gz(input: Buffer, pieces: number[], parallelism = 3): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const n of pieces) {
    chunks.push(input.subarray(at, at + n));
    at += n;
  }
  if (at < input.length) chunks.push(input.subarray(at));
  return buffer(Readable.from(chunks).pipe(parallelGzip({ parallelism })));
}

/** Compressible bytes: text-like lines with some variety. */
function text(n: number): Buffer {
  const words = ["layer", "registry", "blob", "manifest", "digest", "wharf", "/usr/lib/", "0123456789"];
  let s = "";
  for (let i = 0; s.length < n; i++) s += `${words[i % 8]}${words[(i * 7) % 8]} ${i % 97}\n`;
  return Buffer.from(s.slice(0, n));
}

describe("parallelGzip", () => {
  it("CRC-32 matches gzip's", () => {
    const b = randomBytes(100_003);
    const expected = gzipSync(b).readUInt32LE(gzipSync(b).length - 8);
    expect(crc32(b)).toBe(expected);
    expect(crc32(b.subarray(50_000), crc32(b.subarray(0, 50_000)))).toBe(expected);
    if (typeof zlibCrc32 === "function") expect(crc32(b)).toBe(zlibCrc32(b));
    expect(jsCrc32(b)).toBe(expected);
    expect(jsCrc32(b.subarray(50_000), jsCrc32(b.subarray(0, 50_000)))).toBe(expected);
  });

  it("makes one gzip member any reader inflates to the input, across many blocks, in any chunking", async () => {
    const input = Buffer.concat([text(3 << 20), randomBytes((1 << 20) + 17), text(777_777)]);
    for (const pieces of [[], [1, 2, 3, 1 << 20, 5], [input.length]]) {
      const out = await gz(input, pieces);
      expect(out.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8]));
      expect(gunzipSync(out).equals(input)).toBe(true); // gunzip checks the CRC-32 and length too
    }
  });

  it("compresses about as well as one zlib stream, and the same input gives the same bytes", async () => {
    const input = text(6 << 20);
    const a = await gz(input, [], 4);
    const b = await gz(input, [12345], 1);
    expect(a.equals(b)).toBe(true);
    expect(a.length).toBeLessThan(gzipSync(input).length * 1.02);
  });

  it("handles empty input and an input of exactly one block", async () => {
    expect(gunzipSync(await gz(Buffer.alloc(0), [])).length).toBe(0);
    const one = randomBytes(1 << 20);
    expect(gunzipSync(await gz(one, [])).equals(one)).toBe(true);
  });
});
