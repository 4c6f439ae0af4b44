/** Build small real OCI images with umoci from directories of this machine, and inspect layouts. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
}

/** An OCI layout at `<dir>/layout` tagged `tag`, one layer per source directory (copied into /data/<i>). */
export function buildOciImage(dir: string, tag: string, sources: string[]): string {
  const layout = join(dir, "layout");
  run("umoci", ["init", "--layout", layout]);
  run("umoci", ["new", "--image", `${layout}:${tag}`]);
  sources.forEach((src, i) => {
    const bundle = join(dir, `bundle${i}`);
    run("umoci", ["unpack", "--rootless", "--image", `${layout}:${tag}`, bundle]);
    cpSync(src, join(bundle, "rootfs", "data", String(i)), { recursive: true, dereference: false });
    run("umoci", ["repack", "--image", `${layout}:${tag}`, bundle]);
  });
  return layout;
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

interface Descriptor {
  digest: string;
  mediaType: string;
  size: number;
}

/** The image manifest of `tag` in an OCI layout, and the blobs it names. */
export function ociImage(layout: string, tag?: string): { manifestDigest: string; config: Descriptor; layers: Descriptor[] } {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: (Descriptor & { annotations?: Record<string, string> })[] };
  const entry = tag ? index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag) : index.manifests[0];
  if (!entry) throw new Error(`tag ${tag} not in ${layout}`);
  const manifest = JSON.parse(readFileSync(blobPath(layout, entry.digest), "utf8")) as { config: Descriptor; layers: Descriptor[] };
  return { manifestDigest: entry.digest, config: manifest.config, layers: manifest.layers };
}

export function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(":");
  return join(layout, "blobs", alg, hex);
}

/** sha256 of each file in a directory, by name (for comparing extracted archives). */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${prefix}${e.name}/`);
      else if (e.isFile()) out[prefix + e.name] = sha256File(p);
    }
  };
  if (existsSync(dir)) walk(dir, "");
  return out;
}
