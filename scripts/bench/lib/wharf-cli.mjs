/**
 * Workload 2: push and pull with our own `wharf` CLI (bin/wharf.mjs), as skopeo's rows are measured.
 * `wharf push` of an OCI layout pushes each layer in chunks sized to what the registry advertises
 * (OCI-Chunk-Min-Length, 16 MiB on Wharf); `wharf pull --format oci` writes an OCI layout, which is
 * checked to hold every blob. Each run gets its own empty layer cache, so nothing is skipped or mounted.
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupLater, removeDir, run } from "./procs.mjs";

export function wharfCli(root) {
  const bin = join(root, "bin", "wharf.mjs");
  if (!existsSync(bin)) return null;
  const wharf = async (args, timeoutMs, work) =>
    run(process.execPath, [bin, ...args], { timeoutMs, env: { WHARF_CACHE_DIR: join(work, "cache"), WHARF_AUTH_FILE: join(work, "auth.json"), DOCKER_CONFIG: work } });
  return {
    name: "wharf-cli",
    async push(image, server, repo, timeoutMs) {
      const work = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-cli-")));
      try {
        return (await wharf(["push", "--no-cache", "--retries", "0", image.layout, `${server.host}/${repo}:latest`], timeoutMs, work)).seconds;
      } finally {
        removeDir(work);
      }
    },
    async pull(image, server, repo, timeoutMs) {
      const work = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-cli-")));
      const out = join(work, "pulled");
      try {
        const { seconds } = await wharf(["pull", "--retries", "0", "--format", "oci", `${server.host}/${repo}:latest`, out], timeoutMs, work);
        const got = new Set(readdirSync(join(out, "blobs", "sha256")));
        const missing = image.blobs.filter((b) => !got.has(b.digest.split(":")[1]));
        if (missing.length) throw new Error(`wharf pull from ${server.name} is missing ${missing.length} blobs`);
        return seconds;
      } finally {
        removeDir(work);
      }
    },
  };
}
