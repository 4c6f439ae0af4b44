/**
 * Small OCI layouts written directly (no umoci: garbage collection tests push many images), each layer a
 * real tar of one file of random bytes, so every image has layers of its own unless it shares `base`.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * A gzipped tar archive of one file with `size` random bytes (compressed, so skopeo pushes it as it is:
 * it would compress an uncompressed layer on the way, and the manifest's digest would change).
 */
export function randomLayer(work: string, size: number): Buffer {
  const dir = mkdtempSync(join(work, "layer-"));
  writeFileSync(join(dir, "random.bin"), randomBytes(size));
  const tar = execFileSync("tar", ["-cf", "-", "-C", dir, "random.bin"], { maxBuffer: 256 << 20 });
  rmSync(dir, { recursive: true, force: true });
  return gzipSync(tar);
}

export interface BuiltImage {
  layout: string;
  tag: string;
  manifestDigest: string;
  /** Digests of the config and layers ("sha256:..."). */
  blobs: string[];
  layers: string[];
}

/** Write an OCI layout at `layout` holding one image tagged `tag` with the given layers. */
export function writeLayout(layout: string, tag: string, layers: Buffer[]): BuiltImage {
  mkdirSync(join(layout, "blobs", "sha256"), { recursive: true });
  const put = (b: Buffer) => {
    const hex = sha(b);
    writeFileSync(join(layout, "blobs", "sha256", hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const layerDescs = layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...put(l) }));
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map((l) => `sha256:${sha(gunzipSync(l))}`) },
    config: { Labels: { nonce: randomBytes(8).toString("hex") } },
  }));
  const configDesc = { mediaType: "application/vnd.oci.image.config.v1+json", ...put(config) };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: configDesc, layers: layerDescs }));
  const m = put(manifest);
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(layout, "index.json"), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": tag } }],
  }));
  return { layout, tag, manifestDigest: m.digest, blobs: [configDesc.digest, ...layerDescs.map((d) => d.digest)], layers: layerDescs.map((d) => d.digest) };
}

/**
 * sha256 digests of the object files under `dir`: the R2 simulator keeps each object's bytes in a file
 * of a `blobs` folder (its metadata in SQLite beside it, which changes on reads too, so is left out).
 */
export function digestsOnDisk(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string, inBlobs: boolean) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, inBlobs || e.name === "blobs");
      else if (e.isFile() && inBlobs) out.add(`sha256:${sha(readFileSync(p))}`);
    }
  };
  walk(dir, false);
  return out;
}

/** The blob digests of an image pulled into an OCI layout, each checked against its bytes. */
export function verifyLayout(layout: string, tag: string): { manifestDigest: string; blobs: string[] } {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  if (!entry) throw new Error(`${tag} not in ${layout}`);
  const read = (digest: string) => {
    const bytes = readFileSync(join(layout, "blobs", "sha256", digest.slice(7)));
    if (`sha256:${sha(bytes)}` !== digest) throw new Error(`blob ${digest} in ${layout} does not match its digest`);
    return bytes;
  };
  const manifest = JSON.parse(read(entry.digest).toString()) as { config: { digest: string }; layers: { digest: string }[] };
  const blobs = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
  for (const b of blobs) read(b);
  return { manifestDigest: entry.digest, blobs };
}
