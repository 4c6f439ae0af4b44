#!/usr/bin/env node
/**
 * What a tagged manifest PUT costs: `node scripts/bench/tag-push.mjs [puts] [concurrency]`.
 *
 * Starts a fresh Wharf from a frozen copy of the checkout (lib/snapshot.mjs), pushes a tiny image, lists
 * its tags once (so a tag index, where there is one, exists and is kept from then on), then PUTs the
 * manifest under `puts` new tags one after another (default 300), moves 100 of them to a second manifest
 * one after another, and PUTs `puts` more new tags with `concurrency` requests in flight (default 16, as
 * the scale benchmark seeds). Prints the median and p90 wall time per sequential PUT, the workerd CPU per
 * PUT, and the concurrent rate. Measure under the machine-wide lock: `flock /work/wt/bench.lock node ...`.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { putManifest, seedTinyImage } from "./lib/registry-api.mjs";
import { serverCpu, startWharf } from "./lib/servers.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";
import { OCI_MANIFEST } from "./lib/load.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const puts = Number(process.argv[2] ?? 300);
const concurrency = Number(process.argv[3] ?? 16);

/** CPU seconds so far of the server's workerd processes (lib/procs.mjs). */
const workerdCpu = (server) => serverCpu(server).workerd ?? 0;

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];

async function sequential(server, label, tags, bytes, repo) {
  const ms = [];
  const c0 = workerdCpu(server);
  for (const t of tags) {
    const t0 = performance.now();
    await putManifest(server.url, repo, t, bytes);
    ms.push(performance.now() - t0);
  }
  const cpu = ((workerdCpu(server) - c0) * 1000) / tags.length;
  console.log(`| ${label} | ${tags.length} | ${quantile(ms, 0.5).toFixed(2)} | ${quantile(ms, 0.9).toFixed(2)} | ${cpu.toFixed(2)} |`);
}

const code = snapshotCheckout(root);
const wharf = await startWharf(code);
try {
  const repo = "bench/tag-push";
  const img = await seedTinyImage(wharf.url, repo);
  const other = Buffer.from(JSON.stringify({ ...JSON.parse(img.manifest), annotations: { moved: "yes" } }));
  const res = await fetch(`${wharf.url}/v2/${repo}/tags/list`);
  if (res.status !== 200) throw new Error(`tags list: ${res.status}`);
  await res.arrayBuffer();
  // Warm-up: the first requests compile and open storage.
  for (let i = 0; i < 20; i++) await putManifest(wharf.url, repo, `warm${i}`, img.manifest);
  console.log(`tagged manifest PUTs to one repository (${OCI_MANIFEST}); wall ms per PUT, workerd CPU ms per PUT`);
  console.log("| PUT | count | median ms | p90 ms | workerd CPU ms |");
  console.log("|---|---|---|---|---|");
  const fresh = Array.from({ length: puts }, (_, i) => `s${String(i).padStart(5, "0")}`);
  await sequential(wharf, "new tag, one at a time", fresh, img.manifest, repo);
  await sequential(wharf, "move a tag, one at a time", fresh.slice(0, 100), other, repo);
  const many = Array.from({ length: puts }, (_, i) => `c${String(i).padStart(5, "0")}`);
  const c0 = workerdCpu(wharf);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < many.length) await putManifest(wharf.url, repo, many[next++], img.manifest);
  }));
  const seconds = (performance.now() - t0) / 1000;
  console.log(`| new tag, ${concurrency} at a time | ${puts} | ${((seconds * 1000 * concurrency) / puts).toFixed(2)} (${(puts / seconds).toFixed(0)}/s) | | ${(((workerdCpu(wharf) - c0) * 1000) / puts).toFixed(2)} |`);
  const walk = await fetch(`${wharf.url}/v2/${repo}/tags/list`);
  const listed = (await walk.json()).tags.length;
  if (listed !== puts * 2 + 21) throw new Error(`listed ${listed} tags, expected ${puts * 2 + 21}`);
} finally {
  await wharf.stop();
}
