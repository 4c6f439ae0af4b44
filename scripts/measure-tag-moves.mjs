#!/usr/bin/env node
// A measurement, not a test: what tag moves and manifest deletes cost through `npm start`.
//   node scripts/measure-tag-moves.mjs [root-of-a-wharf-checkout]
// Starts scripts/start.mjs of that checkout (default: this one) on a free port with a temporary data
// folder (removed at the end) and reports:
//   - sequential manifest PUT by tag (one client, one tag, new manifest each time): median and p90 ms;
//   - 16 concurrent clients pushing tags into ONE repository (what tag moves serialised per repository
//     cost) and into 16 repositories: manifest PUTs per second;
//   - the race of issue 10 (4 concurrent PUTs to one tag, two of them the same manifest, then DELETE of
//     the digest the tag ended at): rounds where the tag still served the deleted manifest.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./lib/net.mjs";

const root = resolve(process.argv[2] || join(import.meta.dirname, ".."));
const port = await freePort();
const data = mkdtempSync(join(tmpdir(), "wharf-tags-"));
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
  cwd: root,
  env: { ...process.env, PORT: String(port), WHARF_DATA: data, WRANGLER_SEND_METRICS: "false", LOG_REQUESTS: "false" },
  // SERVER_LOG=<file> keeps the server's output (wrangler's and the Worker's), else it is dropped.
  stdio: process.env.SERVER_LOG ? ["ignore", openSync(process.env.SERVER_LOG, "w"), openSync(process.env.SERVER_LOG, "a")] : ["ignore", "ignore", "inherit"],
  detached: true,
});
const stop = () => {
  try { process.kill(-server.pid, "SIGTERM"); } catch {}
  rmSync(data, { recursive: true, force: true });
};
process.on("exit", stop);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(1));

for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/v2/`)).ok) break; } catch {}
  if (i > 300) throw new Error("server did not start");
  await new Promise((r) => setTimeout(r, 200));
}

const OCI = "application/vnd.oci.image.manifest.v1+json";
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
async function blob(repo, body) {
  const d = sha(body);
  const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${d}`, { method: "POST", body });
  if (r.status !== 201) throw new Error(`blob push ${r.status}`);
  return d;
}
let seq = 0;
const manifestFor = (cfg, note = String(seq++)) =>
  JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cfg, size: 2 }, layers: [], annotations: { note } });
async function put(repo, ref, body) {
  const r = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: "PUT", body, headers: { "Content-Type": OCI } });
  if (r.status !== 201) throw new Error(`manifest PUT ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

const repos = Array.from({ length: 16 }, (_, i) => `m/r${i}`);
const cfgs = {};
for (const r of repos) cfgs[r] = await blob(r, "{}");

// warm up
for (let i = 0; i < 20; i++) await put(repos[0], "warm", manifestFor(cfgs[repos[0]]));

const lat = [];
for (let i = 0; i < 200; i++) {
  const t = performance.now();
  await put(repos[0], "seq", manifestFor(cfgs[repos[0]]));
  lat.push(performance.now() - t);
}
console.log(`sequential PUT by tag: median ${pct(lat, 50).toFixed(1)} ms, p90 ${pct(lat, 90).toFixed(1)} ms (200 PUTs)`);

async function concurrent(repoOf, label) {
  const per = 40;
  const t = performance.now();
  await Promise.all(Array.from({ length: 16 }, async (_, c) => {
    for (let i = 0; i < per; i++) await put(repoOf(c), `c${c}-${i}`, manifestFor(cfgs[repoOf(c)]));
  }));
  const s = (performance.now() - t) / 1000;
  console.log(`${label}: ${(16 * per / s).toFixed(0)} PUTs/s (${16 * per} PUTs, 16 clients)`);
}
await concurrent(() => repos[1], "16 clients, one repository");
await concurrent((c) => repos[c], "16 clients, 16 repositories");

let bad = 0;
const rounds = Number(process.env.ROUNDS || 100);
for (let round = 0; round < rounds; round++) {
  const repo = repos[2];
  const [a, b, c] = [manifestFor(cfgs[repo]), manifestFor(cfgs[repo]), manifestFor(cfgs[repo])];
  await Promise.all([a, b, a, c].map((m) => put(repo, `race${round}`, m)));
  const head = await fetch(`${base}/v2/${repo}/manifests/race${round}`, { method: "HEAD" });
  const d = head.headers.get("Docker-Content-Digest");
  const del = await fetch(`${base}/v2/${repo}/manifests/${d}`, { method: "DELETE" });
  if (del.status !== 202) throw new Error(`DELETE ${del.status}`);
  const after = await fetch(`${base}/v2/${repo}/manifests/race${round}`, { method: "HEAD" });
  if (after.status !== 404) bad++;
}
console.log(`race rounds where the tag kept serving the deleted manifest: ${bad} of ${rounds}`);
stop();
process.exit(0);
