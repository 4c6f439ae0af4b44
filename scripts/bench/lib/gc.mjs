/**
 * Workload "gc": garbage collection of a registry with `repos` repositories and `repos × perRepo`
 * manifests (default 2,000 and 20,000), on a Wharf of its own (GC_GRACE_SECONDS=0, GC_CONDEMN_SECONDS=0,
 * the default 1,000 R2 operations per step).
 *
 * Seeding: per repository one config and three layers, then `perRepo` manifests pushed by tag, each
 * naming the config and two layers (the last manifest the third layer), with an annotation that makes
 * each one distinct; then the last manifest of every repository is deleted, which leaves one layer per
 * repository to collect (2,000 blobs). Through the HTTP API that took hours here (4-6 requests a second
 * under load, 28,000 requests), so it is written straight into the R2 simulator instead, by the seeder
 * Worker (bench/gc-seed) running Wharf's own storage modules under `wrangler dev` on the data folder;
 * the seeder is stopped before Wharf starts on that folder (one `wrangler dev` at a time). The registry is
 * the one the HTTP path built: same keys, same metadata, references recorded on each revision.
 * Then the run is started through POST /_wharf/gc and polled until done: first a dry run, then the real
 * run. Reported: wall time, R2 operations in all and per manifest, steps, the most R2 operations
 * (subrequests) any one step made, and what was removed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupLater } from "./procs.mjs";
import { startGcSeeder, startWharf } from "./servers.mjs";
import { pool } from "./transfer.mjs";

/** Seeder requests in flight, and repositories per request. */
const SEED_CONCURRENCY = 2;
const SEED_BATCH = 20;

/**
 * One request; a timeout or 503 is retried (what a loaded `wrangler dev` answers now and then). `timeoutMs`:
 * a status poll now and then gets no answer at all through wrangler dev's proxy while a big step runs
 * (seen at 2,000 repositories: a poll hung for minutes while curl to the same URL answered at once), so
 * polls give up early and ask again.
 */
async function call(url, init, ok, timeoutMs = 300_000) {
  for (let attempt = 0; ; attempt++) {
    let r;
    let text;
    try {
      r = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      text = await r.text();
    } catch (err) {
      if (attempt >= 20) throw err;
      continue;
    }
    if (ok.includes(r.status)) return text;
    if (r.status !== 503 || attempt >= 5) throw new Error(`${init.method ?? "GET"} ${url}: ${r.status} ${text.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 500 * (attempt + 1)));
  }
}

/** Seed `repos` repositories into `dataDir` with the seeder Worker; returns the seconds it took. */
async function seed(code, dataDir, repos, perRepo, log) {
  const seeder = await startGcSeeder(code, dataDir);
  const t0 = Date.now();
  try {
    const batches = Array.from({ length: Math.ceil(repos / SEED_BATCH) }, (_, i) => i * SEED_BATCH);
    let done = 0;
    await pool(batches, SEED_CONCURRENCY, async (from) => {
      const count = Math.min(SEED_BATCH, repos - from);
      await call(`${seeder.url}/seed?from=${from}&count=${count}&perRepo=${perRepo}`, { method: "POST" }, [200]);
      done += count;
      if (done % 200 < SEED_BATCH) log(`gc: seeded ${done}/${repos} repositories (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    });
  } finally {
    await seeder.stop();
  }
  return (Date.now() - t0) / 1000;
}

/**
 * Start a run and poll it to its end. `seconds` is what the client waited; the run's own time is its
 * report's startedAt → finishedAt (`serverSeconds`). The slowest poll is kept too: a status call waits
 * behind whatever the coordinator's step is doing at that moment.
 */
async function runGc(base, dryRun) {
  const t0 = Date.now();
  const { id } = JSON.parse(await call(`${base}/_wharf/gc${dryRun ? "?dry-run=true" : ""}`, { method: "POST" }, [202]));
  let slowestPoll = 0;
  for (;;) {
    const p0 = Date.now();
    const r = JSON.parse(await call(`${base}/_wharf/gc/${id}`, {}, [200], 10_000));
    slowestPoll = Math.max(slowestPoll, (Date.now() - p0) / 1000);
    if (r.state !== "running") {
      const serverSeconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
      return { report: r, seconds: (Date.now() - t0) / 1000, serverSeconds, slowestPoll };
    }
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Samples: one per run (dry and real), with the run's figures. `code`: the frozen checkout to run. */
export async function gcWorkload({ code, quick = false, log = console.error }) {
  const repos = quick ? 200 : 2000;
  const perRepo = 10;
  const dataDir = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-gc-")));
  log(`gc: seeding ${repos} repositories, ${repos * perRepo} manifests straight into R2 (bench/gc-seed)`);
  const seedSeconds = await seed(code, dataDir, repos, perRepo, log);
  const wharf = await startWharf(code, { GC_GRACE_SECONDS: "0", GC_CONDEMN_SECONDS: "0" }, { dataDir });
  try {
    const manifests = repos * perRepo;
    const samples = [];
    for (const dryRun of [true, false]) {
      const { report, seconds, serverSeconds, slowestPoll } = await runGc(wharf.url, dryRun);
      if (report.state !== "done") throw new Error(`gc run ${report.id} ${report.state}: ${report.error}`);
      samples.push({
        workload: "gc",
        case: dryRun ? "dry run" : "run",
        server: "wharf",
        repos,
        manifests,
        seedSeconds,
        seedRequests: 0,
        seconds,
        serverSeconds,
        slowestPoll,
        r2Operations: report.r2Operations,
        perManifest: report.r2Operations / manifests,
        steps: report.steps,
        maxStepOperations: report.maxStepOperations,
        stepLimit: report.settings.stepOperations,
        removed: report.removed,
        inventory: report.inventory,
        phases: report.phases,
      });
      log(`gc: ${dryRun ? "dry run" : "run"} ${serverSeconds.toFixed(1)} s (the client waited ${seconds.toFixed(1)} s; slowest poll ${slowestPoll.toFixed(1)} s), ${report.r2Operations} R2 operations, at most ${report.maxStepOperations} in one step`);
    }
    return samples;
  } finally {
    await wharf.stop().catch(() => undefined);
  }
}

/** The report's GC table (empty when the workload did not run). */
export function gcMarkdown(samples) {
  const rows = samples.filter((s) => s.workload === "gc" && !s.failed);
  if (!rows.length) return [];
  const r0 = rows[0];
  const out = [
    `Garbage collection (${r0.repos} repositories, ${r0.manifests} manifests, seeded straight into R2 by bench/gc-seed through Wharf's storage modules in ${r0.seedSeconds.toFixed(0)} s, the last manifest of each repository deleted; GC_GRACE_SECONDS=0, GC_CONDEMN_SECONDS=0, at most ${r0.stepLimit} R2 operations per step):`,
    "",
    "| run | time (run's report) | client waited (slowest poll) | R2 operations | per manifest | steps | most in one step | removed | phases (s) |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const s of rows) {
    const removed = `${s.removed.blobs} blobs, ${s.removed.links} links, ${(s.removed.bytes / 1e3).toFixed(0)} kB`;
    const phases = Object.entries(s.phases).filter(([, ms]) => ms >= 100).map(([p, ms]) => `${p} ${(ms / 1000).toFixed(1)}`).join(", ");
    out.push(`| ${s.case} | ${(s.serverSeconds ?? s.seconds).toFixed(1)} s | ${s.seconds.toFixed(1)} s (${(s.slowestPoll ?? 0).toFixed(1)} s) | ${s.r2Operations} | ${s.perManifest.toFixed(3)} | ${s.steps} | ${s.maxStepOperations} | ${removed} | ${phases} |`);
  }
  out.push("");
  return out;
}
