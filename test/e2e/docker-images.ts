/**
 * Small docker-archive images built from nothing (no base image, no network): a layer with a static
 * busybox (Debian's busybox-static, /bin/busybox) so that `docker run` has something to execute, and
 * optionally a layer holding one file of incompressible random bytes. Written in the classic
 * `docker save` form (manifest.json, <config>.json, <id>/layer.tar), which `docker load` reads.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tarHeader, TarFileWriter } from "../../src/node/archive/tar";

export const BUSYBOX = process.env.WHARF_TEST_BUSYBOX ?? "/bin/busybox";

export function busyboxAvailable(): boolean {
  return existsSync(BUSYBOX);
}

interface LayerFile {
  name: string;
  mode: number;
  /** Bytes, or a size to fill with random bytes (streamed, never held whole). */
  content: Buffer | number;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** A layer tar (uncompressed) written into the archive; returns its diff_id. */
async function* layerTar(files: LayerFile[], dirs: string[]): AsyncGenerator<Buffer> {
  for (const d of dirs) yield tarHeader(d, 0, "dir", 1700000000);
  for (const f of files) {
    const size = typeof f.content === "number" ? f.content : f.content.length;
    yield tarHeader(f.name, size, "file", 1700000000, f.mode);
    if (typeof f.content === "number") {
      for (let left = f.content; left > 0; left -= 1 << 20) yield randomBytes(Math.min(left, 1 << 20));
    } else yield f.content;
    yield pad(size);
  }
  yield Buffer.alloc(1024);
}

export interface BuiltImage {
  path: string;
  repoTag: string;
  /** Image ID (config digest) and the layers' diff_ids. */
  id: string;
  diffIds: string[];
}

/**
 * Write a docker archive at `path` holding one image `repoTag`: the busybox layer, plus, with
 * `randomBytes`, a second layer with /data/random of that many incompressible bytes.
 */
export async function buildImageArchive(path: string, repoTag: string, opts: { randomBytes?: number; label?: string } = {}): Promise<BuiltImage> {
  const layers: { files: LayerFile[]; dirs: string[] }[] = [{ dirs: ["bin"], files: [{ name: "bin/busybox", mode: 0o755, content: readFileSync(BUSYBOX) }] }];
  if (opts.randomBytes) layers.push({ dirs: ["data"], files: [{ name: "data/random", mode: 0o644, content: opts.randomBytes }] });
  const tar = await TarFileWriter.create(path);
  const diffIds: string[] = [];
  const layerPaths: string[] = [];
  for (const [i, l] of layers.entries()) {
    const h = createHash("sha256");
    const hashed = (async function* () {
      for await (const b of layerTar(l.files, l.dirs)) {
        h.update(b);
        yield b;
      }
    })();
    const dir = `layer${i}`;
    await tar.addDir(dir);
    await tar.addStream(hashed, () => `${dir}/layer.tar`);
    diffIds.push(`sha256:${h.digest("hex")}`);
    layerPaths.push(`${dir}/layer.tar`);
  }
  const created = "2026-01-01T00:00:00Z";
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created,
    config: { Cmd: ["/bin/busybox", "echo", "hello from wharf"], Labels: opts.label ? { "wharf.test": opts.label } : null },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: layers.map((_, i) => ({ created, created_by: `wharf test layer ${i}` })),
  }));
  const id = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  await tar.addBuffer(`${id.slice(7)}.json`, config);
  await tar.addBuffer("manifest.json", JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: [repoTag], Layers: layerPaths }]));
  await tar.close();
  return { path, repoTag, id, diffIds };
}

/** sha256 of a file, streamed. */
export async function fileDigest(path: string): Promise<string> {
  const h = createHash("sha256");
  const fh = await open(path);
  try {
    for await (const c of fh.createReadStream()) h.update(c);
  } finally {
    await fh.close().catch(() => {});
  }
  return `sha256:${h.digest("hex")}`;
}
