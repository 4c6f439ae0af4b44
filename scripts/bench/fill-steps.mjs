#!/usr/bin/env node
/**
 * What a pull-through fill of a small blob costs: `node scripts/bench/fill-steps.mjs [blobs] [bytes]`
 * (under the benchmark lock: `flock /work/wt/bench.lock node scripts/bench/fill-steps.mjs`).
 *
 * Starts CNCF distribution (the upstream), a fresh Wharf with it as UPSTREAMS prefix `up`, and the floor
 * Worker, all from a frozen copy of the checkout (lib/snapshot.mjs); pushes `blobs` random blobs
 * (default 30 of 1 MB) to distribution, then, one blob after another:
 *   - direct:    GET from distribution;
 *   - floor fill: the floor Worker's `GET /<key>?from=<distribution URL>` (fetch, tee(), one R2 put);
 *   - cold:      GET through Wharf (a miss: the BlobFill object fetches, streams and stores it), then
 *                waits until Wharf is idle, so the CPU counted includes the store that follows the answer;
 *   - warm:      the same GET again, its 307 followed to the signed URL (a hit).
 * Prints the median wall time per step and the CPU each server's process groups used per blob
 * (lib/steps.mjs timedStep: workerd, wrangler's node processes, our front). Sequential on purpose: the
 * figures are per blob, not throughput.
 */
import { createHash, randomBytes } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitIdle } from "./lib/procs.mjs";
import { median } from "./lib/report.mjs";
import { startDistribution, startFloor, startWharf } from "./lib/servers.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";
import { timedStep } from "./lib/steps.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const count = Number(process.argv[2] ?? 30);
const size = Number(process.argv[3] ?? 1e6);
/** GET `url` (following redirects) and check the bytes' digest. */
async function get(url, digest) {
  const res = await fetch(url);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const got = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (got !== digest) throw new Error(`GET ${url}: digest ${got}, expected ${digest}`);
}

const code = snapshotCheckout(root);
const distribution = await startDistribution();
const [wharf, floor] = await Promise.all([
  startWharf(code, { UPSTREAMS: JSON.stringify([{ prefix: "up", url: distribution.url }]) }),
  startFloor(code),
]);
try {
  const blobs = Array.from({ length: count + 3 }, () => {
    const bytes = randomBytes(size);
    return { bytes, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
  });
  for (const b of blobs) {
    const post = await fetch(`${distribution.url}/v2/fill/steps/blobs/uploads/`, { method: "POST" });
    const put = new URL(post.headers.get("Location"), distribution.url);
    put.searchParams.set("digest", b.digest);
    const r = await fetch(put, { method: "PUT", body: b.bytes, headers: { "Content-Type": "application/octet-stream" } });
    if (r.status !== 201) throw new Error(`distribution PUT: ${r.status}`);
  }
  const source = (b) => `${distribution.url}/v2/fill/steps/blobs/${b.digest}`;
  const through = (b) => `${wharf.url}/v2/up/fill/steps/blobs/${b.digest}`;
  // Warm up (first requests compile and open storage); not counted.
  for (const [i, b] of blobs.slice(count).entries()) {
    await get(through(b), b.digest);
    await get(`${floor.url}/warm-${i}?from=${encodeURIComponent(source(b))}`, b.digest);
  }
  await waitIdle(wharf.pid, { everyMs: 100 });
  const steps = {};
  for (const [i, b] of blobs.slice(0, count).entries()) {
    await timedStep(steps, "direct (distribution)", null, () => get(source(b), b.digest));
    await timedStep(steps, "floor fill", floor, () => get(`${floor.url}/fill-${i}?from=${encodeURIComponent(source(b))}`, b.digest), { settle: true });
    await timedStep(steps, "Wharf cold (store included)", wharf, () => get(through(b), b.digest), { settle: true });
    await timedStep(steps, "Wharf warm (307 + signed GET)", wharf, () => get(through(b), b.digest), { settle: true });
  }
  console.log(`${count} blobs of ${size} bytes, one after another; median wall ms, CPU ms per blob by process group`);
  console.log("| step | wall ms | workerd | wrangler | front |");
  console.log("|---|---|---|---|---|");
  for (const [name, s] of Object.entries(steps)) {
    const per = (k) => (s.cpu[k] === undefined ? "–" : ((s.cpu[k] * 1000) / count).toFixed(1));
    console.log(`| ${name} | ${median(s.ms).toFixed(1)} | ${per("workerd")} | ${per("wrangler")} | ${per("front")} |`);
  }
} finally {
  await Promise.all([wharf.stop(), floor.stop(), distribution.stop()]);
}
