/**
 * Workload "gc": garbage collection of a registry with `repos` repositories and `repos × perRepo`
 * manifests (default 2,000 and 20,000), on a Wharf of its own (GC_GRACE_SECONDS=0, GC_CONDEMN_SECONDS=0,
 * the default 1,000 R2 operations per step).
 *
 * Seeding goes through the HTTP API, as a client would (no fast path): per repository one config and
 * three layers (monolithic POST ?digest=), then `perRepo` manifests pushed by tag, each naming the config
 * and two layers (the last manifest the third layer), with an annotation that makes each one distinct.
 * Then the last manifest of every repository is deleted, which leaves one layer per repository to
 * collect (2,000 blobs), and the run is started through POST /_wharf/gc and polled until done: first a
 * dry run, then the real run. Reported: wall time, R2 operations in all and per manifest, steps, the most
 * R2 operations (subrequests) any one step made, and what was removed.
 */
import { createHash, randomBytes } from "node:crypto";
import { startWharf } from "./servers.mjs";
import { pool } from "./transfer.mjs";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** Requests in flight while seeding (more only queue inside wrangler dev on a 2-core machine). */
const SEED_CONCURRENCY = 6;
const sha256 = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/**
 * One request; a 503 is retried (every call here is idempotent: blob POST by digest, manifest PUT, GET):
 * under load `wrangler dev` sometimes answers "Your worker restarted mid-request" for a request in flight.
 */
async function call(url, init, ok) {
  for (let attempt = 0; ; attempt++) {
    let r;
    let text;
    try {
      r = await fetch(url, { ...init, signal: AbortSignal.timeout(120_000) });
      text = await r.text();
    } catch (err) {
      if (attempt >= 5) throw err; // a timeout on a machine this loaded: try again
      continue;
    }
    if (ok.includes(r.status)) return text;
    if (r.status !== 503 || attempt >= 5) throw new Error(`${init.method ?? "GET"} ${url}: ${r.status} ${text.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 500 * (attempt + 1)));
  }
}

async function blob(base, repo, bytes) {
  const digest = sha256(bytes);
  await call(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: "POST", body: bytes, headers: { "Content-Length": String(bytes.length) } }, [201]);
  return { digest, size: bytes.length };
}

function manifest(config, layers, nonce) {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l })),
    annotations: { "bench.nonce": nonce },
  }));
}

async function seed(base, repos, perRepo, concurrency, log) {
  const names = Array.from({ length: repos }, (_, i) => `gc/r${String(i).padStart(5, "0")}`);
  const doomed = [];
  const t0 = Date.now();
  let done = 0;
  await pool(names, concurrency, async (repo) => {
    const config = await blob(base, repo, Buffer.from(JSON.stringify({ os: "linux", architecture: "amd64", repo })));
    const layers = [];
    for (let i = 0; i < 3; i++) layers.push(await blob(base, repo, randomBytes(256)));
    for (let k = 0; k < perRepo; k++) {
      const last = k === perRepo - 1;
      const bytes = manifest(config, last ? [layers[0], layers[2]] : [layers[0], layers[1]], `${repo}-${k}`);
      await call(`${base}/v2/${repo}/manifests/t${k}`, { method: "PUT", body: bytes, headers: { "Content-Type": OCI_MANIFEST } }, [201]);
      if (last) doomed.push({ repo, digest: sha256(bytes) });
    }
    if (++done % 200 === 0) log(`gc: seeded ${done}/${repos} repositories (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  });
  const seedSeconds = (Date.now() - t0) / 1000;
  await pool(doomed, concurrency, ({ repo, digest }) => call(`${base}/v2/${repo}/manifests/${digest}`, { method: "DELETE" }, [202]));
  return { seedSeconds, requests: repos * (4 + perRepo) };
}

async function runGc(base, dryRun) {
  const t0 = Date.now();
  const { id } = JSON.parse(await call(`${base}/_wharf/gc${dryRun ? "?dry-run=true" : ""}`, { method: "POST" }, [202]));
  for (;;) {
    const r = JSON.parse(await call(`${base}/_wharf/gc/${id}`, {}, [200]));
    if (r.state !== "running") return { report: r, seconds: (Date.now() - t0) / 1000 };
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Samples: one per run (dry and real), with the run's figures. */
export async function gcWorkload({ root, quick = false, log = console.error }) {
  const repos = quick ? 200 : 2000;
  const perRepo = 10;
  const wharf = await startWharf(root, { GC_GRACE_SECONDS: "0", GC_CONDEMN_SECONDS: "0" });
  try {
    log(`gc: seeding ${repos} repositories, ${repos * perRepo} manifests through HTTP`);
    const s = await seed(wharf.url, repos, perRepo, SEED_CONCURRENCY, log);
    const manifests = repos * perRepo;
    const samples = [];
    for (const dryRun of [true, false]) {
      const { report, seconds } = await runGc(wharf.url, dryRun);
      if (report.state !== "done") throw new Error(`gc run ${report.id} ${report.state}: ${report.error}`);
      samples.push({
        workload: "gc",
        case: dryRun ? "dry run" : "run",
        server: "wharf",
        repos,
        manifests,
        seedSeconds: s.seedSeconds,
        seedRequests: s.requests,
        seconds,
        r2Operations: report.r2Operations,
        perManifest: report.r2Operations / manifests,
        steps: report.steps,
        maxStepOperations: report.maxStepOperations,
        stepLimit: report.settings.stepOperations,
        removed: report.removed,
        inventory: report.inventory,
        phases: report.phases,
      });
      log(`gc: ${dryRun ? "dry run" : "run"} ${seconds.toFixed(1)} s, ${report.r2Operations} R2 operations, at most ${report.maxStepOperations} in one step`);
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
    `Garbage collection (${r0.repos} repositories, ${r0.manifests} manifests, seeded through the HTTP API in ${r0.seedSeconds.toFixed(0)} s with ${r0.seedRequests} requests; then one manifest per repository deleted; GC_GRACE_SECONDS=0, GC_CONDEMN_SECONDS=0, at most ${r0.stepLimit} R2 operations per step):`,
    "",
    "| run | time | R2 operations | per manifest | steps | most in one step | removed | phases (s) |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const s of rows) {
    const removed = `${s.removed.blobs} blobs, ${s.removed.links} links, ${(s.removed.bytes / 1e3).toFixed(0)} kB`;
    const phases = Object.entries(s.phases).filter(([, ms]) => ms >= 100).map(([p, ms]) => `${p} ${(ms / 1000).toFixed(1)}`).join(", ");
    out.push(`| ${s.case} | ${s.seconds.toFixed(1)} s | ${s.r2Operations} | ${s.perManifest.toFixed(3)} | ${s.steps} | ${s.maxStepOperations} | ${removed} | ${phases} |`);
  }
  out.push("");
  return out;
}
