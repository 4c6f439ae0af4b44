#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: Wharf against CNCF distribution 2.8 on this machine, side by side.
 *
 *   --quick            1 round, smaller images and lists, 2 s load runs (for development)
 *   --rounds N         rounds of every measurement (default 3; medians are reported)
 *   --only a,b         workloads to run: transfer, load, scale, gc (default all)
 *   --images a,b       images for the transfer workload: small, medium, big (default all)
 *   --readme           also replace the Benchmark section of README.md with this run's table
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
import { loadWorkload, scaleWorkload, SKOPEO, transferWorkload } from "./lib/workloads.mjs";
import { wharfCli } from "./lib/wharf-cli.mjs";
import { gcWorkload } from "./lib/gc.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
process.chdir(root);

function parseArgs(argv) {
  const o = { quick: false, rounds: undefined, only: ["transfer", "load", "scale", "gc"], images: ["small", "medium", "big"], readme: false };
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
  ? { rounds: opts.rounds ?? 1, smallLayers: 20, mediumBytes: 60e6, bigBytes: 128 * 2 ** 20, connections: [1, 8, 64], loadSeconds: 2, tags: 1000, repos: 200 }
  : { rounds: opts.rounds ?? 3, smallLayers: 20, mediumBytes: 250e6, bigBytes: 2 ** 30, connections: [1, 8, 64], loadSeconds: 5, tags: 10_000, repos: 2000 };
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
  log("starting servers");
  const [wharf, distribution, floor] = await Promise.all([startWharf(root), startDistribution(), startFloor(root)]);
  servers.push(wharf, distribution, floor);
  log(`wharf ${wharf.url}, distribution ${distribution.url}, floor ${floor.url}`);
  const registries = [wharf, distribution];

  if (opts.only.includes("transfer")) {
    const clients = [SKOPEO];
    const cli = wharfCli(root);
    if (cli) clients.push(cli);
    else log("wharf CLI not found (bin/wharf.mjs): its push/pull rows are skipped");
    samples.push(...(await transferWorkload({ registries, floor, images, rounds: plan.rounds, clients })));
  }
  if (opts.only.includes("load")) {
    samples.push(...(await loadWorkload({ registries, floor, rounds: plan.rounds, connections: plan.connections, seconds: plan.loadSeconds })));
  }
  if (opts.only.includes("scale")) {
    samples.push(...(await scaleWorkload({ registries, rounds: plan.rounds, tags: plan.tags, repos: plan.repos })));
  }
  if (opts.only.includes("gc")) samples.push(...(await gcWorkload({ root, quick: opts.quick, log })));
} finally {
  await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
  removeDir(work);
}

const m = machine();
const imageFacts = Object.fromEntries(Object.entries(images).map(([k, v]) => [k, { label: v.label, bytes: v.bytes, layers: v.layers, blobs: v.blobs.map((b) => ({ digest: b.digest, size: b.size })) }]));
const { markdown, summary } = summarize({ samples, images, plan, machine: m, date });
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
  const readme = join(root, "README.md");
  const text = readFileSync(readme, "utf8");
  const start = "<!-- bench:start -->";
  const end = "<!-- bench:end -->";
  const block = `${start}\n${markdown}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error("README.md has no <!-- bench:start --> ... <!-- bench:end --> markers");
  writeFileSync(readme, text.slice(0, i) + block + text.slice(j + end.length));
  log("updated the Benchmark section of README.md");
}
