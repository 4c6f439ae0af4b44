#!/usr/bin/env node
/**
 * Where a small blob's push spends its time: `node scripts/bench/blob-steps.mjs [blobs] [bytes]`.
 *
 * Starts a fresh Wharf and the floor Worker from a frozen copy of the checkout (lib/snapshot.mjs), then
 * pushes `blobs` random blobs (default 40 of 1 MB) one after another the way skopeo does (HEAD 404,
 * POST, PATCH with the whole blob and Content-Length, PUT ?digest= with no body) and PUTs the same
 * bytes to the floor. Prints, per step, the median wall time and the CPU seconds each server process
 * group used per blob (workerd, wrangler's node processes, our node front). Sequential on purpose: the
 * figures are per request, not throughput.
 */
import { createHash, randomBytes } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startFloor, startWharf } from "./lib/servers.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";
import { timedStep } from "./lib/steps.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const count = Number(process.argv[2] ?? 40);
const size = Number(process.argv[3] ?? 1e6);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function ok(res, status) {
  await res.arrayBuffer();
  if (res.status !== status) throw new Error(`${res.url}: ${res.status}, expected ${status}`);
  return res;
}

const code = snapshotCheckout(root);
const [wharf, floor] = await Promise.all([startWharf(code), startFloor(code)]);
try {
  const blobs = Array.from({ length: count }, () => {
    const bytes = randomBytes(size);
    return { bytes, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
  });
  const steps = {};
  // Warm up both (first requests compile and open storage).
  for (const b of blobs.slice(0, 3)) {
    await ok(await fetch(`${floor.url}/warm/${b.digest}`, { method: "PUT", body: b.bytes }), 200);
    const post = await ok(await fetch(`${wharf.url}/v2/warm/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes }), 201);
    void post;
  }
  for (const [i, b] of blobs.entries()) {
    const repo = `steps/r${i % 4}`;
    await timedStep(steps, "HEAD (404)", wharf, async () => ok(await fetch(`${wharf.url}/v2/${repo}/blobs/${b.digest}`, { method: "HEAD" }), 404));
    const post = await timedStep(steps, "POST", wharf, async () => ok(await fetch(`${wharf.url}/v2/${repo}/blobs/uploads/`, { method: "POST" }), 202));
    const loc = new URL(post.headers.get("Location"), wharf.url);
    await timedStep(steps, "PATCH (whole blob)", wharf, async () => ok(await fetch(loc, { method: "PATCH", body: b.bytes, headers: { "Content-Type": "application/octet-stream" } }), 202));
    const put = new URL(loc);
    put.searchParams.set("digest", b.digest);
    await timedStep(steps, "PUT ?digest=", wharf, async () => ok(await fetch(put, { method: "PUT" }), 201));
    await timedStep(steps, "floor PUT", floor, async () => ok(await fetch(`${floor.url}/steps/${i}`, { method: "PUT", body: b.bytes }), 200));
  }
  console.log(`${count} blobs of ${size} bytes, one after another; median wall ms, CPU ms per blob by process group`);
  console.log("| step | wall ms | workerd | wrangler | front |");
  console.log("|---|---|---|---|---|");
  let wall = 0;
  const tot = {};
  for (const [name, s] of Object.entries(steps)) {
    const per = (k) => ((s.cpu[k] ?? 0) * 1000 / count).toFixed(1);
    console.log(`| ${name} | ${median(s.ms).toFixed(1)} | ${per("workerd")} | ${per("wrangler")} | ${per("front")} |`);
    if (name !== "floor PUT") {
      wall += median(s.ms);
      for (const [k, v] of Object.entries(s.cpu)) tot[k] = (tot[k] ?? 0) + v;
    }
  }
  const per = (k) => ((tot[k] ?? 0) * 1000 / count).toFixed(1);
  console.log(`| Wharf total | ${wall.toFixed(1)} | ${per("workerd")} | ${per("wrangler")} | ${per("front")} |`);
} finally {
  await Promise.all([wharf.stop(), floor.stop()]);
}
