/**
 * The docker-archive push (issue 17, item 7), registered in run.mjs as `archive`: one `docker save`
 * archive of real directories (uncompressed tar layers, as docker writes them), pushed to a fresh
 * repository of the benchmark's Wharf by
 *   wharf-cli  `wharf push archive.tar`: gzips each layer while it uploads, in blocks on zlib's threads
 *              across every core (src/node/archive/parallel-gzip.ts), chunked to what Wharf advertises;
 *   wharf-cli --compression-level 1: the same at gzip level 1 (the plain row is gzip's default, 6);
 *   skopeo     `skopeo copy docker-archive:...`: compresses each layer itself (gzip), one PATCH per layer.
 * The rows give MB/s of uncompressed layer bytes (what the user has on disk) and the wall time; rounds
 * alternate the clients' order. Both clients compress the same bytes to the same output every round,
 * so a later round's blobs are already in the content index: each push still uploads every byte (a new
 * repository, no client cache), and Wharf drops the second copy at commit.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupLater, removeDir, run } from "./procs.mjs";
import { median } from "./report.mjs";
import { skopeoEnv } from "./transfer.mjs";

const log = (...a) => console.error("bench:", ...a);
// Real files of this machine (Debian 12), a few tens of MB each: several layers of about 120 MB in all.
const DIRS = ["/usr/lib/python3.11", "/usr/lib/git-core", "/usr/share/vim", "/usr/share/perl", "/usr/share/i18n", "/usr/lib/x86_64-linux-gnu/perl"];

async function sha256File(path) {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(chunk);
  return h.digest("hex");
}

/** A docker-archive (classic `docker save` layout) of tar layers of real directories, about `targetBytes`. */
export async function buildDockerArchive(dir, targetBytes) {
  const src = join(dir, "archive");
  mkdirSync(src, { recursive: true });
  const layers = [];
  let bytes = 0;
  for (const d of DIRS) {
    if (!existsSync(d) || bytes >= targetBytes) continue;
    const name = `${layers.length}/layer.tar`;
    mkdirSync(join(src, String(layers.length)));
    await run("tar", ["-cf", join(src, name), "-C", "/", d.slice(1)], { timeoutMs: 300_000 });
    const size = statSync(join(src, name)).size;
    layers.push({ name, size, diffId: `sha256:${await sha256File(join(src, name))}` });
    bytes += size;
  }
  const config = { architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) }, history: layers.map(() => ({ created_by: "bench" })) };
  const configJson = JSON.stringify(config);
  const configName = `${createHash("sha256").update(configJson).digest("hex")}.json`;
  writeFileSync(join(src, configName), configJson);
  writeFileSync(join(src, "manifest.json"), JSON.stringify([{ Config: configName, RepoTags: ["bench/archive:latest"], Layers: layers.map((l) => l.name) }]));
  const file = join(dir, "archive.tar");
  await run("tar", ["-cf", file, "-C", src, "manifest.json", configName, ...layers.map((_, i) => String(i))], { timeoutMs: 300_000 });
  removeDir(src);
  return { file, layers: layers.length, bytes };
}

/** The wharf CLI at gzip level 1 (`--compression-level 1`); the plain row is the default level 6. */
const FAST = "wharf-cli --compression-level 1";

export async function archivePushWorkload({ wharf, code, rounds, targetBytes }) {
  const work = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-archive-")));
  const samples = [];
  try {
    const archive = await buildDockerArchive(work, targetBytes);
    log(`docker archive: ${archive.layers} layers, ${(archive.bytes / 1e6).toFixed(0)} MB uncompressed`);
    const wharfCli = (extra) => async (repo) => {
      const home = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-cli-")));
      try {
        const env = { WHARF_CACHE_DIR: join(home, "cache"), WHARF_AUTH_FILE: join(home, "auth.json"), DOCKER_CONFIG: home };
        return (await run(process.execPath, [join(code, "bin", "wharf.mjs"), "push", "--no-cache", "--retries", "0", ...extra, archive.file, `${wharf.host}/${repo}:latest`], { timeoutMs: 600_000, env })).seconds;
      } finally {
        removeDir(home);
      }
    };
    const clients = {
      "wharf-cli": wharfCli([]),
      [FAST]: wharfCli(["--compression-level", "1"]),
      skopeo: async (repo) => {
        const { xdg, env } = skopeoEnv();
        try {
          return (await run("skopeo", ["copy", "--retry-times", "0", "--dest-tls-verify=false", `docker-archive:${archive.file}`, `docker://${wharf.host}/${repo}:latest`], { timeoutMs: 600_000, env })).seconds;
        } finally {
          removeDir(xdg);
        }
      },
    };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? Object.keys(clients) : Object.keys(clients).reverse();
      for (const client of order) {
        const base = { workload: "archive", case: "docker-archive push", client, server: "wharf", round, bytes: archive.bytes, layers: archive.layers };
        try {
          const seconds = await clients[client](`bench/archive-${client.replace(/\W+/g, "-")}-r${round}`);
          samples.push({ ...base, op: "push", seconds });
          log(`archive push ${client} r${round}: ${seconds.toFixed(2)} s, ${(archive.bytes / 1e6 / seconds).toFixed(1)} MB/s`);
        } catch (e) {
          log(`FAILED archive push ${client} r${round}: ${String(e?.message ?? e).split("\n")[0]}`);
          samples.push({ ...base, op: "push", failed: true, error: String(e?.message ?? e).slice(0, 2000) });
        }
      }
    }
  } finally {
    removeDir(work);
  }
  return samples;
}

/** The workload's table, as markdown (empty when it did not run). */
export function archivePushReport(samples) {
  const mine = samples.filter((s) => s.workload === "archive" && !s.failed);
  if (!mine.length) return "";
  const { bytes, layers } = mine[0];
  const rows = ["wharf-cli", FAST, "skopeo"].map((client) => {
    const t = median(mine.filter((s) => s.client === client).map((s) => s.seconds));
    return { client, t };
  });
  const lines = [
    "",
    `docker-archive push to Wharf (${layers} uncompressed tar layers of real directories, ${(bytes / 1e6).toFixed(0)} MB; each client compresses them with gzip while it pushes; MB/s of uncompressed bytes):`,
    "",
    "| client | time | MB/s | against skopeo |",
    "|---|---|---|---|",
  ];
  const skopeo = rows.find((r) => r.client === "skopeo")?.t;
  for (const r of rows) {
    if (!Number.isFinite(r.t)) continue;
    lines.push(`| ${r.client} | ${r.t.toFixed(2)} s | ${(bytes / 1e6 / r.t).toFixed(1)} | ${Number.isFinite(skopeo) ? `${(skopeo / r.t).toFixed(2)}x the speed` : "–"} |`);
  }
  return lines.join("\n");
}
