// The tar reader and writer, checked against GNU tar in both directions.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../src/node/archive/files";
import { indexTar, openEntry, TarFileWriter } from "../../src/node/archive/tar";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "wharf-tar-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(s: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

const longName = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(90)}.bin`;

describe("TarFileWriter", () => {
  it("writes archives GNU tar lists and extracts, including long names and streamed entries named afterwards", async () => {
    const path = join(dir, "w.tar");
    const w = await TarFileWriter.create(path);
    await w.addDir("blobs");
    await w.addBuffer("blobs/small.json", '{"a":1}');
    await w.addBuffer(longName, Buffer.alloc(1000, 7));
    const streamed = Buffer.alloc(700_001, 3);
    const size = await w.addStream(Readable.from([streamed.subarray(0, 300_000), streamed.subarray(300_000)]), () => "blobs/named-after");
    expect(size).toBe(streamed.length);
    await w.addBuffer("empty", "");
    await w.close();

    const listed = execFileSync("tar", ["tf", path], { encoding: "utf8" }).trim().split("\n");
    expect(listed).toEqual(["blobs/", "blobs/small.json", longName, "blobs/named-after", "empty"]);
    const out = join(dir, "x");
    mkdirSync(out);
    execFileSync("tar", ["xf", path, "-C", out]);
    expect(readFileSync(join(out, "blobs/named-after")).equals(streamed)).toBe(true);
    expect(readFileSync(join(out, longName)).equals(Buffer.alloc(1000, 7))).toBe(true);
  });

  it("refuses a streamed entry whose size is not the expected one", async () => {
    const w = await TarFileWriter.create(join(dir, "bad.tar"));
    await expect(w.addStream(Readable.from([Buffer.alloc(10)]), () => "x", 11)).rejects.toThrow(/10 bytes, expected 11/);
    await w.abort();
  });
});

describe("indexTar", () => {
  it("indexes a GNU tar with long names and symlinks, and opens entries by offset", async () => {
    const src = join(dir, "src");
    mkdirSync(join(src, "layer"), { recursive: true });
    writeFileSync(join(src, "data.tar"), Buffer.alloc(5000, 1));
    symlinkSync("../data.tar", join(src, "layer", "layer.tar"));
    const deep = join(src, "g".repeat(120));
    writeFileSync(deep, "long");
    const path = join(dir, "gnu.tar");
    execFileSync("tar", ["--format=gnu", "-cf", path, "-C", src, "."]);

    const entries = await indexTar(path);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get("g".repeat(120))?.size).toBe(4);
    expect(byName.get("layer/layer.tar")).toMatchObject({ type: "symlink", linkname: "../data.tar" });
    expect((await readAll(openEntry(path, byName.get("g".repeat(120))!))).toString()).toBe("long");

    const files = await openFileSource(path);
    expect(files.size("layer/layer.tar")).toBe(5000);
    expect((await readAll(files.open("./layer/layer.tar"))).equals(Buffer.alloc(5000, 1))).toBe(true);
    expect(files.has("missing")).toBe(false);
  });

  it("reads pax headers (POSIX tar) for long names", async () => {
    const src = join(dir, "pax");
    mkdirSync(src);
    const name = "p".repeat(180);
    writeFileSync(join(src, name), "pax");
    const path = join(dir, "pax.tar");
    execFileSync("tar", ["--format=posix", "-cf", path, "-C", src, name]);
    const files = await openFileSource(path);
    expect((await files.read(name)).toString()).toBe("pax");
  });

  it("rejects a file that is not a tar", async () => {
    const path = join(dir, "not.tar");
    writeFileSync(path, Buffer.alloc(2048, 65));
    await expect(indexTar(path)).rejects.toThrow(/not a tar file/);
  });
});
