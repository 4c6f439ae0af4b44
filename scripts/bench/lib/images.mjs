/**
 * The images the benchmark pushes and pulls, as OCI image layouts (tag "latest") in a temporary folder:
 *   small   N random layers of 1 MB each (20 by default)
 *   medium  real filesystem layers of this machine, built with `umoci insert` (gzip, about 250 MB)
 *   big     one random layer of 1 GiB (a layer blob is just bytes: no tar, no gzip needed)
 * Random bytes keep the registries from getting any help from compression.
 */
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from "node:fs";
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

/** A blob of `size` random bytes, written and hashed in 4 MiB pieces (never whole in memory). */
function writeRandomBlob(layout, size) {
  const tmp = join(layout, "blobs", "sha256", `.partial-${process.pid}`);
  const fd = openSync(tmp, "w");
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
  const hex = hash.digest("hex");
  renameSync(tmp, join(layout, "blobs", "sha256", hex));
  return { digest: `sha256:${hex}`, size };
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
