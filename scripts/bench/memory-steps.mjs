#!/usr/bin/env node
/**
 * What workerd's memory does across a sequence of workloads:
 * `node scripts/bench/memory-steps.mjs [--blob MiB] [--big MiB] [--rounds N] [--chunk MiB] [--gc] [--env K=V ...]`.
 *
 * Starts one fresh Wharf (scripts/start.mjs, as `npm start`, the benchmark and the e2e tests run it) from a
 * frozen copy of the checkout and runs, on that one server: `rounds` times (default 2) a whole-blob push
 * of `blob` MiB (default 250; POST, one PATCH, PUT ?digest=, as skopeo does), two pulls of it (through the
 * redirect to the signed blob URL, as clients do: the first fills the Cache API, the second is served from
 * it), a push of the same size in `chunk` MiB chunks (default 16, as the wharf CLI does) and one pull of
 * that; then a whole-blob push of `big` MiB (default 1024; 0 leaves it out). Every push is of content no
 * earlier step pushed.
 *
 * Per step it prints the peak RSS of each workerd process during the step (sampled every 100 ms from
 * /proc: "worker" is the workerd that runs Wharf, its Durable Objects and the R2 / Cache simulators;
 * "proxy" is wrangler's ProxyWorker, on wrangler's port, which carries the signed-URL pulls), then, once
 * the server is idle again (plus 2 s), the idle RSS of both, the worker's anonymous memory
 * (/proc/PID/smaps_rollup) and the V8 heaps of the worker's isolates, read over workerd's inspector
 * (Runtime.getHeapUsage: used / total heap, and the ArrayBuffer backing stores): Wharf's own isolate
 * (core:user:wharf, which also runs its Durable Objects) and the sum of the simulator's isolates. With
 * `--gc` every idle sample is taken after a forced garbage collection of every isolate
 * (HeapProfiler.collectGarbage), which tells garbage apart from memory something still holds.
 * `--env K=V` passes K=V to scripts/start.mjs (and so to wrangler and workerd), to try settings.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeRandomFile } from "./lib/images.mjs";
import { cleanupLater, listeningPorts, processTree, removeDir, rssBytes, sampleRss, waitIdle } from "./lib/procs.mjs";
import { startWharf } from "./lib/servers.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MiB = 2 ** 20;
const args = process.argv.slice(2);
const env = {};
const opt = { blob: 250, big: 1024, rounds: 2, chunk: 16, gc: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--gc") opt.gc = true;
  else if (a === "--env") {
    const [k, ...v] = args[++i].split("=");
    env[k] = v.join("=");
  } else if (a.startsWith("--") && a.slice(2) in opt) opt[a.slice(2)] = Number(args[++i]);
  else throw new Error(`unknown argument ${a}`);
}
// ws ships with wrangler (Node 20 has no WebSocket without a flag).
const WebSocket = createRequire(join(root, "node_modules", "wrangler", "package.json"))("ws");

const work = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-memsteps-")));
let files = 0;
/** A new file of random bytes, with its digest. */
const blobFile = (size) => writeRandomFile(join(work, `blob-${files++}`), size);

/** One HTTP request, the body streamed from `file` (start..end); resolves when the answer is read. */
function send(url, method, { file, start = 0, end = -1, headers = {} } = {}) {
  return new Promise((res, rej) => {
    const u = new URL(url);
    const len = end >= start ? end - start + 1 : 0;
    const hdrs = method === "GET" ? headers : { ...headers, "Content-Length": String(len) };
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: hdrs, agent: false }, (r) => {
      let bytes = 0;
      const parts = [];
      r.on("data", (d) => {
        bytes += d.length;
        if (parts.length < 64) parts.push(d);
      });
      r.on("end", () => res({ status: r.statusCode, headers: r.headers, bytes, body: method === "GET" && r.statusCode === 200 ? "" : Buffer.concat(parts).toString() }));
      r.on("error", rej);
    });
    req.on("error", rej);
    if (len) createReadStream(file, { start, end, highWaterMark: MiB }).pipe(req);
    else req.end();
  });
}

function expect(r, status) {
  if (r.status !== status) throw new Error(`${status} expected, got ${r.status}: ${r.body}`);
  return r;
}

async function pushWhole(base, repo, b) {
  const post = expect(await send(`${base}/v2/${repo}/blobs/uploads/`, "POST"), 202);
  const loc = new URL(post.headers.location, base);
  expect(await send(loc, "PATCH", { file: b.file, end: b.size - 1, headers: { "Content-Type": "application/octet-stream" } }), 202);
  loc.searchParams.set("digest", b.digest);
  expect(await send(loc, "PUT"), 201);
}

async function pushChunked(base, repo, b, chunk) {
  const post = expect(await send(`${base}/v2/${repo}/blobs/uploads/`, "POST"), 202);
  let loc = new URL(post.headers.location, base);
  for (let off = 0; off < b.size; off += chunk) {
    const end = Math.min(b.size, off + chunk) - 1;
    const r = expect(await send(loc, "PATCH", { file: b.file, start: off, end, headers: { "Content-Range": `${off}-${end}` } }), 202);
    loc = new URL(r.headers.location, base);
  }
  loc.searchParams.set("digest", b.digest);
  expect(await send(loc, "PUT"), 201);
}

/** GET the blob as a client does: follow the redirect (to the signed blob URL) and read every byte. */
async function pull(base, repo, b, headers = {}) {
  let r = await send(`${base}/v2/${repo}/blobs/${b.digest}`, "GET", { headers });
  if (r.status === 307 || r.status === 302) r = await send(new URL(r.headers.location, base), "GET", { headers });
  expect(r, headers.Range ? 206 : 200);
  if (r.bytes !== b.size) throw new Error(`pull read ${r.bytes} bytes of ${b.size}`);
  return r.headers["wharf-edge-cache"] ?? "";
}

// --- the server's processes -------------------------------------------------------------------------

/** The two workerd processes of a Wharf: the Worker's (it has an inspector) and wrangler's proxy. */
async function workerdOf(server) {
  const out = {};
  for (const p of processTree(server.pid)) {
    if (!p.comm.startsWith("workerd")) continue;
    const cmd = readFileSync(`/proc/${p.pid}/cmdline`, "utf8");
    if (!cmd.includes("--inspector-addr")) {
      out.proxy = p.pid;
      continue;
    }
    out.worker = p.pid;
    for (const port of listeningPorts(p.pid)) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(2000) });
        const list = await r.json();
        if (Array.isArray(list) && list[0]?.webSocketDebuggerUrl) out.targets = list.map((t) => ({ id: t.id, ws: t.webSocketDebuggerUrl }));
      } catch {}
    }
  }
  return out;
}

/**
 * Call inspector methods on one isolate; resolves with their results in order (null on timeout). workerd
 * dispatches an isolate's inspector messages only while that isolate runs something, so `poke` (a request
 * that reaches it) is called every 300 ms until the answers are in.
 */
function inspect(wsUrl, methods, poke, timeoutMs = 5_000) {
  return new Promise((res) => {
    const ws = new WebSocket(wsUrl);
    const results = [];
    let poker;
    const done = (v) => { clearTimeout(timer); clearInterval(poker); ws.terminate(); res(v); };
    const timer = setTimeout(() => done(null), timeoutMs);
    ws.on("open", () => {
      ws.send(JSON.stringify({ id: 0, method: methods[0] }));
      poker = setInterval(() => poke().catch(() => {}), 300);
    });
    ws.on("message", (data) => {
      const m = JSON.parse(String(data));
      if (m.id === undefined) return;
      if (m.error) return done(null);
      results.push(m.result);
      if (results.length === methods.length) done(results);
      else ws.send(JSON.stringify({ id: results.length, method: methods[results.length] }));
    });
    ws.on("error", () => done(null));
  });
}

function smapsKiB(pid) {
  const out = {};
  try {
    for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").split("\n")) {
      const m = /^(\w+):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
  } catch {}
  return out;
}

const mib = (b) => (b / MiB).toFixed(0);

/** Isolates whose heap is read: Wharf's (its Worker and Durable Objects), the R2 and the Cache simulators'. */
const ISOLATES = { "core:user:wharf": "wharf", "r2:bucket": "r2", "cache:cache": "cache" };

/** Idle figures: RSS of both workerd, the worker's anonymous memory, and V8 heaps of ISOLATES. */
async function idleSample(procs, poke) {
  const heaps = {};
  for (const t of procs.targets ?? []) {
    const name = ISOLATES[t.id];
    if (!name) continue;
    const methods = opt.gc ? ["HeapProfiler.collectGarbage", "Runtime.getHeapUsage"] : ["Runtime.getHeapUsage"];
    const u = (await inspect(t.ws, methods, poke))?.pop();
    heaps[name] = u ? { used: u.usedSize, total: u.totalSize, buffers: u.backingStorageSize ?? 0 } : null;
  }
  const sm = smapsKiB(procs.worker);
  return { worker: rssBytes(procs.worker), proxy: rssBytes(procs.proxy), anon: (sm.Anonymous ?? 0) * 1024, file: (sm.Rss - (sm.Anonymous ?? 0)) * 1024, heaps };
}

// --- the sequence -----------------------------------------------------------------------------------

const code = snapshotCheckout(root);
const wharf = await startWharf(code, env);
const base = wharf.url;
try {
  const procs = await workerdOf(wharf);
  if (!procs.worker) throw new Error("no workerd with an inspector in the server's tree");
  if (!procs.targets) console.log("(workerd's inspector did not answer: no V8 heap figures)");
  // Each step: [label, the measured work, preparation before sampling starts (writing the blob file)].
  const steps = [];
  steps.push(["idle, after start", async () => new Promise((r) => setTimeout(r, 300))]);
  for (let round = 1; round <= opt.rounds; round++) {
    const size = opt.blob * MiB;
    const repo = `mem/r${round}`;
    let whole, chunked;
    steps.push([`r${round} push ${opt.blob} MiB whole`, () => pushWhole(base, repo, whole), () => { whole = blobFile(size); }]);
    steps.push([`r${round} pull it (1st)`, () => pull(base, repo, whole)]);
    steps.push([`r${round} pull it (2nd)`, () => pull(base, repo, whole)]);
    steps.push([`r${round} push ${opt.blob} MiB in ${opt.chunk} MiB chunks`, () => pushChunked(base, repo, chunked, opt.chunk * MiB), () => { rmSync(whole.file); chunked = blobFile(size); }]);
    steps.push([`r${round} pull it, Range: all of it (no Cache API)`, () => pull(base, repo, chunked, { Range: `bytes=0-${size - 1}` })]);
    steps.push([`r${round} pull it`, () => pull(base, repo, chunked), null, () => rmSync(chunked.file)]);
  }
  if (opt.big > 0) {
    let big;
    steps.push([`push ${opt.big} MiB whole`, () => pushWhole(base, "mem/big", big), () => { big = blobFile(opt.big * MiB); }]);
  }

  console.log(`Fresh Wharf, workerd RSS per step (MiB). Peak: sampled every 100 ms during the step. Idle: after the step, once idle + 2 s${opt.gc ? ", after a forced GC of every isolate" : ""}.`);
  console.log(`V8 heaps from workerd's inspector: used / total (ArrayBuffer backing stores). env: ${JSON.stringify(env)}`);
  console.log("| step | wall s | peak worker | peak proxy | idle worker | idle proxy | worker anon / file | Wharf isolate heap | R2 simulator heap | Cache simulator heap | edge cache |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  // A request that runs Wharf's isolate and the R2 simulator's (HEAD of a blob nobody pushed reads R2).
  const poke = () => send(`${base}/v2/mem/poke/blobs/sha256:${"0".repeat(64)}`, "HEAD");
  const h = (x) => (x ? `${mib(x.used)} / ${mib(x.total)} (${mib(x.buffers)})` : "–");
  for (const [label, fn, prepare, after] of steps) {
    prepare?.();
    const s = sampleRss([wharf.pid], (p) => (p.pid === procs.worker ? "worker" : p.pid === procs.proxy ? "proxy" : null));
    const t0 = performance.now();
    let edge;
    try {
      edge = await fn();
    } catch (e) {
      edge = `FAILED: ${e.message}`;
      console.error(`${label}: ${e.message}; the server's log ends:\n${wharf.log().slice(-3000)}`);
    }
    const wall = (performance.now() - t0) / 1000;
    const { peakBytes } = s.stop();
    after?.();
    await waitIdle(wharf.pid);
    await new Promise((r) => setTimeout(r, 2000));
    const i = await idleSample(procs, poke);
    console.log(`| ${label} | ${wall.toFixed(1)} | ${mib(peakBytes.worker ?? 0)} | ${mib(peakBytes.proxy ?? 0)} | ${mib(i.worker)} | ${mib(i.proxy)} | ${mib(i.anon)} / ${mib(i.file)} | ${h(i.heaps.wharf)} | ${h(i.heaps.r2)} | ${h(i.heaps.cache)} | ${typeof edge === "string" ? edge : ""} |`);
  }
} finally {
  await wharf.stop();
  removeDir(work);
}
