// docker save archives (classic and OCI-inside) and OCI layouts, read and written on archives the tests build.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerArchiveWriter, readDockerManifest } from "../../src/node/archive/docker-archive";
import { openFileSource, sniffCompression } from "../../src/node/archive/files";
import { choosePlatform } from "../../src/node/archive/oci";
import { MediaTypes } from "../../src/oci/media-types";
import { createOciDirWriter, createOciTarWriter, readOciIndex } from "../../src/node/archive/oci-layout";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "wharf-archives-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const hex = (d: string) => d.slice(7);

/** A layer tar (made by GNU tar) holding one file. */
function layerTar(name: string, content: string): Buffer {
  const src = join(dir, `layer-src-${name}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, name), content);
  return execFileSync("tar", ["-cf", "-", "-C", src, name]);
}

async function readAll(s: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* chunks(b: Buffer): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += 1000) yield b.subarray(i, i + 1000);
}

describe("docker save archives", () => {
  it("reads the classic layout: config, layer.tar symlinks, and two images sharing a layer", async () => {
    const base = layerTar("base.txt", "base");
    const top = layerTar("top.txt", "top");
    const config = (tag: string, layers: Buffer[]) => Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", tag, rootfs: { type: "layers", diff_ids: layers.map(sha) } }));
    const c1 = config("one", [base]);
    const c2 = config("two", [base, top]);
    const root = join(dir, "classic");
    for (const [id, bytes] of [["l1", base], ["l2", top]] as const) {
      mkdirSync(join(root, id), { recursive: true });
      writeFileSync(join(root, `${id}.tar`), bytes);
      symlinkSync(`../${id}.tar`, join(root, id, "layer.tar"));
      writeFileSync(join(root, id, "VERSION"), "1.0");
    }
    writeFileSync(join(root, `${hex(sha(c1))}.json`), c1);
    writeFileSync(join(root, `${hex(sha(c2))}.json`), c2);
    writeFileSync(join(root, "manifest.json"), JSON.stringify([
      { Config: `${hex(sha(c1))}.json`, RepoTags: ["demo/one:1"], Layers: ["l1/layer.tar"] },
      { Config: `${hex(sha(c2))}.json`, RepoTags: ["demo/two:2"], Layers: ["l1/layer.tar", "l2/layer.tar"] },
    ]));
    writeFileSync(join(root, "repositories"), JSON.stringify({ "demo/one": { "1": "l1" } }));
    const tar = join(dir, "classic.tar");
    execFileSync("tar", ["-cf", tar, "-C", root, "."]);

    for (const path of [tar, root]) {
      const src = await openFileSource(path);
      const images = await readDockerManifest(src);
      expect(images.map((i) => i.RepoTags)).toEqual([["demo/one:1"], ["demo/two:2"]]);
      expect((await src.read(images[1].Config)).equals(c2)).toBe(true);
      expect((await readAll(src.open(images[1].Layers[1]))).equals(top)).toBe(true);
      expect(sniffCompression(await src.head(images[1].Layers[0], 4))).toBe("none");
    }
  });

  it("refuses a manifest.json that names files the archive lacks", async () => {
    const root = join(dir, "broken");
    mkdirSync(root);
    writeFileSync(join(root, "manifest.json"), JSON.stringify([{ Config: "c.json", RepoTags: [], Layers: ["nope/layer.tar"] }]));
    writeFileSync(join(root, "c.json"), "{}");
    await expect(readDockerManifest(await openFileSource(root))).rejects.toThrow(/names nope\/layer.tar, which is not in the archive/);
  });

  it("writes Docker's OCI-inside layout: uncompressed layers under their diff_ids, read back by the reader", async () => {
    const l1 = layerTar("a.txt", "a".repeat(5000));
    const l2 = layerTar("b.txt", "b".repeat(3000));
    const gz = [gzipSync(l1), gzipSync(l2)];
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(l1), sha(l2)] } }));
    const out = join(dir, "written.tar");
    const w = await DockerArchiveWriter.create(out);
    const progress: number[] = [];
    await w.addImage({
      repoTags: ["127.0.0.1:5000/demo/app:v1"],
      config,
      configDigest: sha(config),
      layers: gz.map((g) => ({ descriptor: { mediaType: MediaTypes.ociLayerGzip, digest: sha(g), size: g.length }, open: async () => chunks(g) })),
      onBytes: (_i, n) => progress.push(n),
    });
    await w.finish();
    expect(progress.at(-1)).toBe(gz[1].length);

    const src = await openFileSource(out);
    const [img] = await readDockerManifest(src);
    expect(img.RepoTags).toEqual(["127.0.0.1:5000/demo/app:v1"]);
    expect(img.Config).toBe(`blobs/sha256/${hex(sha(config))}`);
    expect(img.Layers).toEqual([`blobs/sha256/${hex(sha(l1))}`, `blobs/sha256/${hex(sha(l2))}`]);
    expect((await readAll(src.open(img.Layers[0]))).equals(l1)).toBe(true);
    const index = await readOciIndex(src);
    expect(index.manifests[0].annotations).toMatchObject({ "org.opencontainers.image.ref.name": "v1", "io.containerd.image.name": "127.0.0.1:5000/demo/app:v1" });
    const manifest = JSON.parse((await src.read(`blobs/sha256/${hex(index.manifests[0].digest)}`)).toString());
    expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual([sha(l1), sha(l2)]);
    expect(JSON.parse((await src.read("repositories")).toString())).toHaveProperty(["127.0.0.1:5000/demo/app", "v1"]);
    // GNU tar agrees with the layout.
    expect(execFileSync("tar", ["tf", out], { encoding: "utf8" })).toContain(`blobs/sha256/${hex(sha(l2))}`);
  });

  it("refuses a layer whose content does not match the config's diff_id", async () => {
    const l1 = layerTar("c.txt", "c");
    const g = gzipSync(l1);
    const config = Buffer.from(JSON.stringify({ rootfs: { type: "layers", diff_ids: [sha(Buffer.from("other"))] } }));
    const w = await DockerArchiveWriter.create(join(dir, "mismatch.tar"));
    await expect(w.addImage({
      repoTags: [], config, configDigest: sha(config),
      layers: [{ descriptor: { mediaType: MediaTypes.dockerLayerGzip, digest: sha(g), size: g.length }, open: async () => chunks(g) }],
    })).rejects.toThrow(/does not match config diff_id/);
    await w.abort();
  });
});

describe("OCI layouts", () => {
  const blob = Buffer.from("x".repeat(4096));
  const desc = { mediaType: MediaTypes.ociLayer, digest: sha(blob), size: blob.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: desc, layers: [desc] }));
  const mdesc = { mediaType: MediaTypes.ociManifest, digest: sha(manifest), size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "v1" } };

  for (const kind of ["dir", "tar"] as const) {
    it(`writes a layout as a ${kind} that the reader opens, verifying every blob`, async () => {
      const path = join(dir, `layout-${kind}${kind === "tar" ? ".tar" : ""}`);
      const w = kind === "dir" ? await createOciDirWriter(path) : await createOciTarWriter(path);
      await expect(w.writeBlob({ ...desc, digest: sha(Buffer.from("wrong")) }, chunks(blob))).rejects.toThrow(/content has digest/);
      await expect(w.writeBlob({ ...desc, size: 1 }, chunks(blob))).rejects.toThrow(/expected 1/);
      await Promise.all([w.writeBlob(desc, chunks(blob)), w.writeBlob(desc, chunks(blob))]);
      await w.writeBytes(mdesc, manifest);
      await w.finish([mdesc]);
      const src = await openFileSource(path);
      const index = await readOciIndex(src);
      expect(index.manifests).toEqual([mdesc]);
      expect((await src.read(`blobs/sha256/${hex(desc.digest)}`)).equals(blob)).toBe(true);
      if (kind === "dir") expect(readdirSync(join(path, "blobs", "sha256")).sort()).toEqual([hex(desc.digest), hex(mdesc.digest)].sort());
      // The refused blobs left nothing behind.
      if (kind === "tar") expect(execFileSync("tar", ["tf", path], { encoding: "utf8" }).trim().split("\n").sort()).toEqual(["blobs/", "blobs/sha256/", `blobs/sha256/${hex(desc.digest)}`, `blobs/sha256/${hex(mdesc.digest)}`, "index.json", "oci-layout"]);
      else expect(existsSync(join(path, "blobs", "sha256", hex(sha(Buffer.from("wrong")))))).toBe(false);
    });
  }

  it("chooses a platform from an index, and names the choices when none fits", () => {
    const index = { schemaVersion: 2 as const, manifests: [
      { ...mdesc, digest: "sha256:a", platform: { os: "linux", architecture: "amd64" } },
      { ...mdesc, digest: "sha256:b", platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ] };
    expect(choosePlatform(index, { os: "linux", architecture: "arm64" }).digest).toBe("sha256:b");
    expect(choosePlatform(index, { os: "linux", architecture: "amd64" }).digest).toBe("sha256:a");
    expect(() => choosePlatform(index, { os: "linux", architecture: "s390x" })).toThrow(/linux\/amd64, linux\/arm64\/v8/);
  });
});
