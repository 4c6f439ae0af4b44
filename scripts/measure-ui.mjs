#!/usr/bin/env node
// A measurement, not a test: how long each web UI page takes on `npm start` with 1,000 tags in one
// repository (plus an index with two platforms and a referrer, and 30 other repositories).
//   node scripts/measure-ui.mjs [tags=1000] [rounds=20]
// Starts its own server (scripts/start.mjs) on a free loopback port with a temporary data folder,
// seeds it through the API, times GETs of each page (full body read, sequential, after 3 warm-ups)
// and prints medians and p90s; stops the server and removes the folder at the end, on error and on Ctrl-C.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib/net.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TAGS = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 20);
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const port = await freePort();
const data = mkdtempSync(join(tmpdir(), "wharf-measure-ui-"));
const base = `http://127.0.0.1:${port}`;
const proc = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
  cwd: root,
  env: { WHARF_LOG_LEVEL: "warn", LOG_REQUESTS: "false", ...process.env, PORT: String(port), WHARF_DATA: data, WRANGLER_SEND_METRICS: "false" },
  stdio: ["ignore", "ignore", "inherit"],
  detached: true,
});
let stopped = false;
async function stop() {
  if (stopped) return;
  stopped = true;
  if (proc.exitCode === null) {
    const exited = new Promise((r) => proc.once("exit", r));
    try { process.kill(-proc.pid, "SIGTERM"); } catch {}
    const t = setTimeout(() => { try { process.kill(-proc.pid, "SIGKILL"); } catch {} }, 5000);
    await exited;
    clearTimeout(t);
  }
  rmSync(data, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => stop().then(() => process.exit(130)));

async function blob(repo, bytes) {
  const d = sha(bytes);
  const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${d}`, { method: "POST", body: bytes });
  if (r.status !== 201) throw new Error(`blob push: ${r.status} ${await r.text()}`);
  return { digest: d, size: Buffer.byteLength(bytes) };
}
async function manifest(repo, ref, body, type = "application/vnd.oci.image.manifest.v1+json") {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: "PUT", body, headers: { "Content-Type": type } });
    if (r.status === 201) return sha(body);
    // wrangler dev now and then answers 503 "worker restarted mid-request" (README, Benchmark): retry
    if (r.status !== 503 || attempt > 3) throw new Error(`manifest push: ${r.status} ${await r.text()}`);
    await sleep(500);
  }
}
async function image(repo, arch) {
  const config = await blob(repo, JSON.stringify({ architecture: arch, os: "linux", config: { Entrypoint: ["/app"], Env: ["A=1"] }, history: [{ created_by: "COPY . /" }] }));
  const layer = await blob(repo, `layer of ${repo} ${arch} `.repeat(100));
  return JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  });
}
async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) await fn(items[i++]); }));
}

try {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try { if ((await fetch(`${base}/v2/`)).ok) break; } catch {}
    if (Date.now() > deadline) throw new Error("server did not start");
    await sleep(200);
  }
  const repo = "perf/app";
  const t0 = Date.now();
  const amd = await image(repo, "amd64");
  const arm = await image(repo, "arm64");
  const amdDigest = await manifest(repo, sha(amd), amd);
  const armDigest = await manifest(repo, sha(arm), arm);
  const index = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: amdDigest, size: amd.length, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: armDigest, size: arm.length, platform: { os: "linux", architecture: "arm64" } },
    ],
  });
  const indexDigest = await manifest(repo, "latest", index, "application/vnd.oci.image.index.v1+json");
  const empty = await blob(repo, "{}");
  const sbom = await blob(repo, '{"spdxVersion":"SPDX-2.3"}');
  const referrer = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: "application/spdx+json",
    config: { mediaType: "application/vnd.oci.empty.v1+json", ...empty },
    layers: [{ mediaType: "application/spdx+json", ...sbom }],
    subject: { mediaType: "application/vnd.oci.image.index.v1+json", digest: indexDigest, size: index.length },
  });
  await manifest(repo, sha(referrer), referrer);
  const tags = Array.from({ length: TAGS - 1 }, (_, i) => `build-${String(i).padStart(5, "0")}`);
  await pool(tags, 16, (t) => manifest(repo, t, t.endsWith("1") ? index : amd, t.endsWith("1") ? "application/vnd.oci.image.index.v1+json" : undefined));
  await pool(Array.from({ length: 30 }, (_, i) => `perf/other-${i}`), 8, async (r) => manifest(r, "v1", await image(r, "amd64")));
  console.log(`seeded ${TAGS} tags in ${repo} and 30 other repositories in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const pages = [
    ["/ (repositories: 20 a page, each with tag count and latest tag)", "/"],
    [`/r/${repo} (first 100 tags)`, `/r/${repo}`],
    [`/r/${repo}?after=build-00500 (a later page)`, `/r/${repo}?after=build-00500`],
    [`/r/${repo}?n=1000 (all tags on one page)`, `/r/${repo}?n=1000`],
    [`/r/${repo}:latest (index, 2 platforms, 1 referrer)`, `/r/${repo}:latest`],
    [`/r/${repo}@<amd64> (image: layers, config)`, `/r/${repo}@${amdDigest}`],
    [`/r/${repo}:build-00002/delete (confirmation)`, `/r/${repo}:build-00002/delete`],
    ["/getting-started", "/getting-started"],
    ["/sign-in", "/sign-in"],
  ];
  console.log(`\n| page | median | p90 | max | bytes |\n|---|---|---|---|---|`);
  for (const [label, path] of pages) {
    const times = [];
    let size = 0;
    for (let i = 0; i < ROUNDS + 3; i++) {
      const s = performance.now();
      const r = await fetch(base + path);
      const body = await r.text();
      const ms = performance.now() - s;
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.slice(0, 300)}`);
      size = body.length;
      if (i >= 3) times.push(ms);
    }
    times.sort((a, b) => a - b);
    const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
    console.log(`| ${label} | ${q(0.5)} ms | ${q(0.9)} ms | ${times[times.length - 1].toFixed(1)} ms | ${size} |`);
  }
} finally {
  await stop();
}
