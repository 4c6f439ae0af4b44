#!/usr/bin/env node
/**
 * Where a tags-list page spends its time: `node scripts/bench/tag-pages.mjs [tags] [samples]`.
 *
 * Starts a fresh Wharf from a frozen copy of the checkout (lib/snapshot.mjs), PUTs one tiny manifest under
 * `tags` tags (default 2,000), then times, one request after another (`samples` each, default 60, after
 * 5 warm-ups), requests that share the fixed cost of a request and differ in what they do beside it:
 * `GET /v2/` (no storage at all), a manifest GET by tag (one R2 read), and the tags list with n = 1, 100,
 * 1,000 and without n, through our TCP front and straight to `wrangler dev`'s port. Prints medians and
 * the workerd CPU per request. Measure under the machine-wide lock: `flock /work/wt/bench.lock node ...`.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { putManifest, seedTinyImage } from "./lib/registry-api.mjs";
import { serverCpu, startWharf } from "./lib/servers.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";
import { OCI_MANIFEST } from "./lib/load.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tags = Number(process.argv[2] ?? 2000);
const samples = Number(process.argv[3] ?? 60);


const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function get(url, headers = {}) {
  const res = await fetch(url, { headers });
  const body = await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return body.byteLength;
}

const code = snapshotCheckout(root);
const wharf = await startWharf(code);
try {
  const repo = "bench/pages";
  const img = await seedTinyImage(wharf.url, repo);
  const names = Array.from({ length: tags - 1 }, (_, i) => `t${String(i).padStart(5, "0")}`);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < names.length) await putManifest(wharf.url, repo, names[next++], img.manifest);
  }));
  const cases = [
    ["GET /v2/", "/v2/", {}],
    ["manifest GET by tag", `/v2/${repo}/manifests/latest`, { Accept: OCI_MANIFEST }],
    ["tags list n=1", `/v2/${repo}/tags/list?n=1`, {}],
    ["tags list n=100", `/v2/${repo}/tags/list?n=100`, {}],
    ["tags list n=1000", `/v2/${repo}/tags/list?n=1000`, {}],
    [`tags list, no n (${tags})`, `/v2/${repo}/tags/list`, {}],
  ];
  console.log(`${tags} tags in one repository; ${samples} sequential requests per row after 5 warm-ups; median ms, and CPU ms per request by process group`);
  console.log("| request | bytes | via front ms | straight to wrangler ms | workerd CPU | wrangler CPU | front CPU |");
  console.log("|---|---|---|---|---|---|---|");
  for (const [label, path, headers] of cases) {
    for (let i = 0; i < 5; i++) await get(wharf.url + path, headers);
    const viaFront = [];
    const c0 = serverCpu(wharf);
    let bytes = 0;
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      bytes = await get(wharf.url + path, headers);
      viaFront.push(performance.now() - t0);
    }
    const c1 = serverCpu(wharf);
    const straight = [];
    if (wharf.innerUrl) {
      for (let i = 0; i < samples; i++) {
        const t0 = performance.now();
        await get(wharf.innerUrl + path, headers);
        straight.push(performance.now() - t0);
      }
    }
    const per = (k) => ((((c1[k] ?? 0) - (c0[k] ?? 0)) * 1000) / samples).toFixed(2);
    console.log(`| ${label} | ${bytes} | ${median(viaFront).toFixed(2)} | ${straight.length ? median(straight).toFixed(2) : "-"} | ${per("workerd")} | ${per("wrangler")} | ${per("front")} |`);
  }
} finally {
  await wharf.stop();
}
