#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: Wharf against CNCF distribution 2.8 on this machine, side by side.
 *
 *   --quick            1 round, smaller images and lists, 2 s load runs (for development)
 *   --rounds N         rounds of every measurement (default 3; medians are reported)
 *   --only a,b         workloads to run: transfer, load, scale, pull (with memory on fresh servers),
 *                      pull-through, archive, gc (default all)
 *   --images a,b       images for the transfer workload: small, medium, big (default all)
 *   --readme           also replace the recorded run in docs/benchmarks.md with this run's tables
 *
 * Starts a fresh Wharf (scripts/start.mjs), a fresh distribution (/usr/bin/docker-registry) and the floor
 * Worker (bench/floor), each on a free loopback port with state in its own temporary folder, and stops
 * them and removes every temporary folder at the end, on error and on Ctrl-C. Writes
 * bench-results/<stamp>.md and .json (raw samples), and bench-results/latest.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildFilesystemImage, buildRandomImage, MEDIUM_DIRS } from "./lib/images.mjs";
import { cleanupLater, removeDir } from "./lib/procs.mjs";
import { machine, summarize } from "./lib/report.mjs";
import { startDistribution, startFloor, startWharf } from "./lib/servers.mjs";
import { loadWorkload, multipartPullWorkload, scaleWorkload, SKOPEO, transferWorkload } from "./lib/workloads.mjs";
import { wharfCli } from "./lib/wharf-cli.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";
import { pullThroughReport, pullThroughWorkload } from "./lib/pull-through.mjs";
import { gcWorkload } from "./lib/gc.mjs";
import { archivePushReport, archivePushWorkload } from "./lib/archive-push.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
process.chdir(root);

function parseArgs(argv) {
  const o = { quick: false, rounds: undefined, only: ["transfer", "load", "scale", "pull", "pull-through", "archive", "gc"], images: ["small", "medium", "big"], readme: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") o.quick = true;
    else if (a === "--readme") o.readme = true;
    else if (a === "--rounds") o.rounds = Number(argv[++i]);
    else if (a === "--only") o.only = argv[++i].split(",");
    else if (a === "--images") o.images = argv[++i].split(",");
    else throw new Error(`unknown option ${a} (see the header of scripts/bench/run.mjs)`);
  }
  if (o.rounds !== undefined && !(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 20)) throw new Error("--rounds must be 1..20");
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const plan = opts.quick
  ? { rounds: opts.rounds ?? 1, smallLayers: 20, mediumBytes: 60e6, bigBytes: 128 * 2 ** 20, connections: [1, 8, 64], loadSeconds: 2, tags: 1000, repos: 200, archiveBytes: 40e6 }
  : { rounds: opts.rounds ?? 3, smallLayers: 20, mediumBytes: 250e6, bigBytes: 2 ** 30, connections: [1, 8, 64], loadSeconds: 5, tags: 10_000, repos: 2000, archiveBytes: 120e6 };
const log = (...a) => console.error("bench:", ...a);
const date = new Date().toISOString();
const t0 = Date.now();

const work = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-images-")));
const servers = [];
let samples = [];
const images = {};
try {
  if (opts.only.includes("transfer")) {
    log("building images");
    if (opts.images.includes("small")) images.small = { ...buildRandomImage(join(work, "small"), plan.smallLayers, 1e6), label: `${plan.smallLayers} x 1 MB layers` };
    if (opts.images.includes("medium")) {
      const img = await buildFilesystemImage(join(work, "medium"), MEDIUM_DIRS, plan.mediumBytes);
      images.medium = { ...img, label: `${img.layers} gzip filesystem layers` };
    }
    if (opts.images.includes("big")) images.big = { ...buildRandomImage(join(work, "big"), 1, plan.bigBytes), label: `1 layer of ${plan.bigBytes / 2 ** 20} MiB` };
  }
  // Servers and CLI run from a frozen copy of the checkout (see lib/snapshot.mjs: edits reload wrangler dev).
  const code = snapshotCheckout(root);
  // The shared servers, unless only workloads that start their own run (gc: `--only gc` starts one
  // wrangler dev at a time).
  let wharf, distribution, floor;
  if (opts.only.some((w) => w !== "gc")) {
    log("starting servers");
    [wharf, distribution, floor] = await Promise.all([startWharf(code), startDistribution(), startFloor(code)]);
    servers.push(wharf, distribution, floor);
    log(`wharf ${wharf.url}, distribution ${distribution.url}, floor ${floor.url}`);
  }
  const registries = [wharf, distribution];

  if (opts.only.includes("transfer")) {
    const clients = [SKOPEO];
    const cli = wharfCli(code);
    if (cli) clients.push(cli);
    else log("wharf CLI not found (bin/wharf.mjs): its push/pull rows are skipped");
    samples.push(...(await transferWorkload({ registries, floor, images, rounds: plan.rounds, clients, work })));
  }
  if (opts.only.includes("load")) {
    samples.push(...(await loadWorkload({ registries, floor, rounds: plan.rounds, connections: plan.connections, seconds: plan.loadSeconds })));
  }
  if (opts.only.includes("pull")) {
    // Fresh servers for every round: a Wharf, a second Wharf with redirects off (its blob GET streams the
    // bytes itself) and a floor. Each Wharf has its own copy of the code (two `wrangler dev` in one folder
    // share its .wrangler/ build output), apart from the shared servers' copy too.
    const [redirectCode, directCode] = [snapshotCheckout(root), snapshotCheckout(root)];
    const startServers = async () => {
      const [redirecting, direct, floor] = await Promise.all([startWharf(redirectCode), startWharf(directCode, { BLOB_REDIRECT: "false" }), startFloor(redirectCode)]);
      const wharfs = [["Wharf: GET, 307, signed blob route (redirects on)", redirecting], ["Wharf: GET streamed (BLOB_REDIRECT=false)", direct]];
      return { wharfs, floor, stop: () => Promise.all([redirecting, direct, floor].map((s) => s.stop().catch(() => undefined))) };
    };
    samples.push(...(await multipartPullWorkload({ startServers, rounds: plan.rounds, bytes: plan.bigBytes, work })));
  }
  if (opts.only.includes("pull-through")) samples.push(...(await pullThroughWorkload({ root: code, distribution, floor, images, rounds: plan.rounds })));
  if (opts.only.includes("archive")) samples.push(...(await archivePushWorkload({ wharf, code, rounds: plan.rounds, targetBytes: plan.archiveBytes })));
  if (opts.only.includes("scale")) {
    try {
      samples.push(...(await scaleWorkload({ registries, rounds: plan.rounds, tags: plan.tags, repos: plan.repos })));
    } catch (e) {
      // Record it and still write the report of everything measured before.
      log(`FAILED scale: ${String(e?.message ?? e).split("\n")[0]}`);
      samples.push({ workload: "scale", case: "seeding and walks", server: "wharf", round: 0, op: "scale", failed: true, error: String(e?.message ?? e).slice(0, 2000) });
    }
  }
  if (opts.only.includes("gc")) samples.push(...(await gcWorkload({ code, quick: opts.quick, log })));
} finally {
  await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
  removeDir(work);
}

const m = machine();
const imageFacts = Object.fromEntries(Object.entries(images).map(([k, v]) => [k, { label: v.label, bytes: v.bytes, layers: v.layers, blobs: v.blobs.map((b) => ({ digest: b.digest, size: b.size })) }]));
const { markdown: core, summary } = summarize({ samples, images, plan, machine: m, date });
const markdown = core + pullThroughReport(samples) + archivePushReport(samples);
const out = join(root, "bench-results");
mkdirSync(out, { recursive: true });
const stamp = date.replace(/[:.]/g, "-");
const heading = `# Wharf benchmark${opts.quick ? " (--quick)" : ""}\n\n`;
writeFileSync(join(out, `${stamp}.md`), heading + markdown + "\n");
writeFileSync(join(out, "latest.md"), heading + markdown + "\n");
writeFileSync(join(out, `${stamp}.json`), JSON.stringify({ date, quick: opts.quick, plan, machine: m, images: imageFacts, summary, samples }, null, 2));
console.log(markdown);
log(`wrote bench-results/${stamp}.md and .json in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

if (opts.readme) {
  const readme = join(root, "docs", "benchmarks.md");
  const text = readFileSync(readme, "utf8");
  const start = "<!-- bench:start -->";
  const end = "<!-- bench:end -->";
  const block = `${start}\n${markdown}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error("docs/benchmarks.md has no <!-- bench:start --> ... <!-- bench:end --> markers");
  writeFileSync(readme, text.slice(0, i) + block + text.slice(j + end.length));
  log("updated the recorded run in docs/benchmarks.md (the README's ratio table is by hand)");
}
