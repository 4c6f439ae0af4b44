/**
 * The images the benchmark pushes and pulls, as OCI image layouts (tag "latest") in a temporary folder:
 *   small   N random layers of 1 MB each (20 by default)
 *   medium  real filesystem layers of this machine, built with `umoci insert` (gzip, about 250 MB)
 *   big     one random layer of 1 GiB (a layer blob is just bytes: no tar, no gzip needed)
 * Random bytes keep the registries from getting any help from compression.
 */
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { run } from "./procs.mjs";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";

function writeBlob(layout, bytes) {
  const hex = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(join(layout, "blobs", "sha256", hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** A file of `size` random bytes, written and hashed in 4 MiB pieces (never whole in memory). */
export function writeRandomFile(file, size) {
  const fd = openSync(file, "w");
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(4 << 20);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, buf.length);
    const piece = buf.subarray(0, n);
    randomFillSync(piece);
    hash.update(piece);
    writeSync(fd, piece);
    left -= n;
  }
  closeSync(fd);
  return { file, size, digest: `sha256:${hash.digest("hex")}` };
}

/** A blob of `size` random bytes in an OCI layout (writeRandomFile, then named by its digest). */
function writeRandomBlob(layout, size) {
  const tmp = join(layout, "blobs", "sha256", `.partial-${process.pid}`);
  const { digest } = writeRandomFile(tmp, size);
  renameSync(tmp, join(layout, "blobs", ...digest.split(":")));
  return { digest, size };
}

function writeImage(layout, layers) {
  const config = writeBlob(
    layout,
    Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) } })),
  );
  const manifest = writeBlob(
    layout,
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, ...config },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER, ...l })),
    })),
  );
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, ...manifest, annotations: { "org.opencontainers.image.ref.name": "latest" } }] }),
  );
}

/** Sizes and blob files of an OCI layout's "latest" image. */
export function describeLayout(layout) {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const desc = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "latest") ?? index.manifests[0];
  const blobPath = (d) => join(layout, "blobs", ...d.split(":"));
  const manifest = JSON.parse(readFileSync(blobPath(desc.digest), "utf8"));
  const blobs = [manifest.config, ...manifest.layers].map((d) => ({ digest: d.digest, size: d.size, path: blobPath(d.digest) }));
  return {
    layout,
    manifestDigest: desc.digest,
    layers: manifest.layers.length,
    bytes: blobs.reduce((s, b) => s + b.size, 0) + desc.size,
    blobs,
  };
}

function newLayout(dir) {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  return dir;
}

export function buildRandomImage(dir, layerCount, layerSize) {
  const layout = newLayout(dir);
  const layers = [];
  for (let i = 0; i < layerCount; i++) layers.push(writeRandomBlob(layout, layerSize));
  writeImage(layout, layers);
  return describeLayout(layout);
}

/** Real files: one gzip layer per directory, added with `umoci insert` until about `targetBytes`. */
export async function buildFilesystemImage(dir, dirs, targetBytes) {
  await run("umoci", ["init", "--layout", dir], { timeoutMs: 60_000 });
  await run("umoci", ["new", "--image", `${dir}:latest`], { timeoutMs: 60_000 });
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    await run("umoci", ["insert", "--image", `${dir}:latest`, d, d], { timeoutMs: 300_000 });
    const size = readdirSync(join(dir, "blobs", "sha256")).reduce((s, f) => s + statSync(join(dir, "blobs", "sha256", f)).size, 0);
    if (size >= targetBytes) break;
  }
  await run("umoci", ["gc", "--layout", dir], { timeoutMs: 60_000 });
  return describeLayout(dir);
}

export const MEDIUM_DIRS = ["/usr/bin", "/usr/lib/gcc", "/usr/lib/python3.11", "/usr/share/locale", "/usr/lib/git-core", "/usr/share/vim", "/usr/share/perl"];

/**
 * A copy of an image whose every blob has a digest no other copy has, so that no registry already holds
 * any of its content: each round and client pushes bytes nobody pushed before, and the way that push
 * stores a blob is the way its pull reads it (the content index keeps one copy per digest, so otherwise
 * the first client to push a digest decides how every later pull of it is stored). A gzip layer gets a
 * new MTIME in its header (bytes 4-7: same compressed data, same uncompressed content and diff_id); any
 * other layer gets its first 8 bytes replaced (the benchmark's raw layers are random bytes, and
 * rootfs.diff_ids follow); the config gets a `comment`. Copied and hashed in 4 MiB pieces.
 */
export function imageVariant(image, dir, tag) {
  const layout = newLayout(dir);
  const src = (d) => join(image.layout, "blobs", ...d.split(":"));
  const index = JSON.parse(readFileSync(join(image.layout, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(src(image.manifestDigest), "utf8"));
  const stamp = createHash("sha256").update(tag).digest();
  const config = JSON.parse(readFileSync(src(manifest.config.digest), "utf8"));
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = manifest.layers.map((l, i) => {
    const out = copyPatched(src(l.digest), layout, (head) => {
      if (head[0] === 0x1f && head[1] === 0x8b) stamp.copy(head, 4, i * 4 % 28, i * 4 % 28 + 4);
      else stamp.copy(head, 0, i % 24, i % 24 + 8);
    });
    if (diffIds[i] === l.digest) diffIds[i] = out.digest;
    return { ...l, ...out };
  });
  config.comment = `wharf bench variant ${tag}`;
  const cfg = writeBlob(layout, Buffer.from(JSON.stringify(config)));
  const m = writeBlob(layout, Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, ...cfg }, layers })));
  const desc = index.manifests.find((d) => d.digest === image.manifestDigest);
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(layout, "index.json"), JSON.stringify({ ...index, manifests: [{ ...desc, ...m }] }));
  return { ...describeLayout(layout), label: image.label };
}

function copyPatched(from, layout, patch) {
  const tmp = join(layout, "blobs", "sha256", `.partial-${process.pid}`);
  const inFd = openSync(from, "r");
  const outFd = openSync(tmp, "w");
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(4 << 20);
  let size = 0;
  for (let first = true; ; first = false) {
    const n = readSync(inFd, buf, 0, buf.length, null);
    if (n === 0) break;
    const piece = buf.subarray(0, n);
    if (first && n >= 32) patch(piece);
    hash.update(piece);
    writeSync(outFd, piece);
    size += n;
  }
  closeSync(inFd);
  closeSync(outFd);
  const hex = hash.digest("hex");
  renameSync(tmp, join(layout, "blobs", "sha256", hex));
  return { digest: `sha256:${hex}`, size };
}
