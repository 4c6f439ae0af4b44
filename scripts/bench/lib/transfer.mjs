/**
 * Push and pull of whole images with real clients, and the floor's bare R2 put/get of the same blobs.
 *
 * skopeo keeps a blob-info cache that lets it mount or skip blobs it has seen at a registry before. Each
 * skopeo run here gets its own empty cache (XDG_DATA_HOME in a fresh folder, with _CONTAINERS_ROOTLESS_UID
 * so that root does not use the shared /var/lib/containers/cache), and every push goes to a fresh
 * repository name, so every push uploads every byte.
 */
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupLater, removeDir, run } from "./procs.mjs";

export function skopeoEnv() {
  const xdg = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-skopeo-")));
  return { xdg, env: { _CONTAINERS_ROOTLESS_UID: "1000", XDG_DATA_HOME: join(xdg, "data"), XDG_CONFIG_HOME: join(xdg, "config"), XDG_RUNTIME_DIR: xdg } };
}

export async function skopeoPush(image, server, repo, timeoutMs) {
  const { xdg, env } = skopeoEnv();
  try {
    const r = await run("skopeo", ["copy", "--retry-times", "0", "--preserve-digests", "--dest-tls-verify=false", `oci:${image.layout}:latest`, `docker://${server.host}/${repo}:latest`], { env, timeoutMs });
    return r.seconds;
  } finally {
    removeDir(xdg);
  }
}

/** Pull into a fresh OCI layout, check it holds every blob, and remove it. */
export async function skopeoPull(image, server, repo, timeoutMs) {
  const { xdg, env } = skopeoEnv();
  const out = join(xdg, "pulled");
  try {
    const r = await run("skopeo", ["copy", "--retry-times", "0", "--preserve-digests", "--dest-oci-accept-uncompressed-layers", "--src-tls-verify=false", `docker://${server.host}/${repo}:latest`, `oci:${out}:latest`], { env, timeoutMs });
    const got = new Set(readdirSync(join(out, "blobs", "sha256")));
    const missing = image.blobs.filter((b) => !got.has(b.digest.split(":")[1]));
    if (missing.length) throw new Error(`pull from ${server.name} is missing ${missing.length} blobs`);
    return r.seconds;
  } finally {
    removeDir(xdg);
  }
}

/** Run `fn` over items with at most `limit` at a time. */
export async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// skopeo copies up to 6 blobs at a time; the floor does the same.
const SKOPEO_PARALLEL = 6;

/** The floor: PUT every blob of the image to the bare R2 Worker (curl, same parallelism as skopeo). */
export async function floorPut(image, floor, prefix, timeoutMs) {
  const t0 = process.hrtime.bigint();
  await pool(image.blobs, SKOPEO_PARALLEL, async (b, i) => {
    const r = await run("curl", ["-sS", "-f", "-H", "Expect:", "-T", b.path, `${floor.url}/${prefix}/${i}`], { timeoutMs });
    if (Number(r.out) !== b.size) throw new Error(`floor stored ${r.out} bytes of ${b.size}`);
  });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Every blob of an image GET into files, `urlOf(blob, i)` each, with skopeo's parallelism: the blob
 * phase of a pull without the client's own work (manifest, layout), for a per-blob comparison.
 */
export async function getBlobs(image, urlOf, timeoutMs) {
  const dir = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-blobs-")));
  try {
    const t0 = process.hrtime.bigint();
    await pool(image.blobs, SKOPEO_PARALLEL, async (b, i) => {
      const out = join(dir, String(i));
      await run("curl", ["-sS", "-f", "-L", "-o", out, urlOf(b, i)], { timeoutMs });
      if (statSync(out).size !== b.size) throw new Error(`${urlOf(b, i)}: got ${statSync(out).size} of ${b.size} bytes`);
    });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  } finally {
    removeDir(dir);
  }
}

/** The floor: GET every blob back into files (as a pull writes them), then remove them. */
export async function floorGet(image, floor, prefix, timeoutMs) {
  const dir = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-floorget-")));
  try {
    const t0 = process.hrtime.bigint();
    await pool(image.blobs, SKOPEO_PARALLEL, async (b, i) => {
      await run("curl", ["-sS", "-f", "-o", join(dir, String(i)), `${floor.url}/${prefix}/${i}`], { timeoutMs });
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return seconds;
  } finally {
    removeDir(dir);
  }
}
