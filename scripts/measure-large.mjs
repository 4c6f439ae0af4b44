#!/usr/bin/env node
// Large-blob measurements through the real local server (not a test; not run in CI).
//
//   node scripts/measure-large.mjs throughput [GiB=1]   push in 100 MB chunks: normal path (hash in memory)
//                                                       and after-restart path (digest by read-back)
//   node scripts/measure-large.mjs memory [GiB=2]       peak RSS of the workerd processes: one streamed PATCH,
//                                                       then 100 MB chunks
//   node scripts/measure-large.mjs roundtrip [GiB=6]    push (one streamed PATCH) and pull, digest checked
//
// Each scenario starts `node scripts/start.mjs` on a free loopback port with a fresh data folder (deleted
// at the end), generates the blob as a stream (AES-CTR keystream: deterministic, never buffered), hashes
// it while sending, and samples VmRSS/VmHWM of every workerd process the server started. Settings such as
// UPLOAD_PART_SIZE pass through from the environment. CHUNK_MB (default 100) sets the chunk size.
import { spawn } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib/net.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CHUNK = Number(process.env.CHUNK_MB || 100) * 1000 * 1000;

// --- data ------------------------------------------------------------------------------------------

/** A deterministic byte stream of `size` bytes, 1 MiB at a time, hashed as it is produced. */
function* blobStream(size, seed = 1) {
  const key = createHash("sha256").update(`wharf-measure-${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  for (let left = size; left > 0; left -= MiB) {
    const n = Math.min(MiB, left);
    yield cipher.update(n === MiB ? zeros : zeros.subarray(0, n));
  }
}

/** Reads `n` bytes at a time from a generator of buffers. */
class Source {
  constructor(gen) {
    this.gen = gen;
    this.pending = null;
    this.hash = createHash("sha256");
  }
  *take(n) {
    while (n > 0) {
      if (!this.pending || this.pending.length === 0) {
        const next = this.gen.next();
        if (next.done) return;
        this.pending = next.value;
      }
      const piece = this.pending.subarray(0, n);
      this.pending = this.pending.subarray(piece.length);
      n -= piece.length;
      this.hash.update(piece);
      yield piece;
    }
  }
  digest() {
    return `sha256:${this.hash.digest("hex")}`;
  }
}

// --- server ----------------------------------------------------------------------------------------


class Server {
  constructor(port, dataDir) {
    this.port = port;
    this.dataDir = dataDir;
    this.base = `http://127.0.0.1:${port}`;
  }
  async start() {
    this.proc = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
      cwd: root,
      env: { WHARF_LOG_LEVEL: "warn", ...process.env, PORT: String(this.port), WHARF_DATA: this.dataDir, WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", process.env.WHARF_LOG_LEVEL ? "inherit" : "ignore", "inherit"],
      detached: true,
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.base}/v2/`);
        if (r.ok) return;
      } catch {}
      await sleep(200);
    }
    throw new Error("server did not start");
  }
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    try { process.kill(-this.proc.pid, "SIGTERM"); } catch {}
    const t = setTimeout(() => { try { process.kill(-this.proc.pid, "SIGKILL"); } catch {} }, 5000);
    await exited;
    clearTimeout(t);
  }
  /** workerd processes started by this server (descendants of its process). */
  workerdPids() {
    const parent = new Map();
    const comm = new Map();
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        const close = stat.lastIndexOf(")");
        comm.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
        parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
      } catch {}
    }
    const isOurs = (pid) => {
      for (let p = pid, hops = 0; p > 1 && hops < 20; p = parent.get(p), hops++) if (p === this.proc.pid) return true;
      return false;
    };
    return [...comm].filter(([pid, name]) => name === "workerd" && isOurs(pid)).map(([pid]) => pid);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Samples VmRSS of the server's workerd processes every 100 ms; VmHWM read at the end. */
class MemoryProbe {
  constructor(server) {
    this.server = server;
    this.peakSum = 0;
    this.peakEach = new Map();
    this.timer = setInterval(() => this.sample(), 100);
  }
  read(pid, field) {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }
  sample() {
    let sum = 0;
    for (const pid of this.server.workerdPids()) {
      const rss = this.read(pid, "VmRSS");
      sum += rss;
      this.peakEach.set(pid, Math.max(this.peakEach.get(pid) ?? 0, rss));
    }
    this.peakSum = Math.max(this.peakSum, sum);
  }
  stop() {
    clearInterval(this.timer);
    this.sample();
    const hwm = this.server.workerdPids().map((pid) => this.read(pid, "VmHWM"));
    return { peakSumMiB: mib(this.peakSum), peakEachMiB: [...this.peakEach.values()].map(mib), hwmMiB: hwm.map(mib) };
  }
}

const mib = (b) => Math.round((b / MiB) * 10) / 10;

// --- client ----------------------------------------------------------------------------------------

function send(server, method, path, pieces, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, method, path, headers });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    (async () => {
      for (const p of pieces) if (!req.write(p)) await new Promise((r) => req.once("drain", r));
      req.end();
    })().catch(reject);
  });
}

async function openSession(server, repo) {
  const r = await send(server, "POST", `/v2/${repo}/blobs/uploads/`, [], { "Content-Length": "0" });
  if (r.status !== 202) throw new Error(`POST ${r.status} ${r.body}`);
  return r.headers.location;
}

/** PATCH the whole source in chunks of `chunk` bytes (0: one streamed PATCH without Content-Length). */
async function pushChunks(server, loc, src, size, chunk) {
  if (chunk === 0) {
    const r = await send(server, "PATCH", loc, src.take(size), { "Content-Type": "application/octet-stream" });
    if (r.status !== 202) throw new Error(`PATCH ${r.status} ${r.body}`);
    return;
  }
  for (let off = 0; off < size; off += chunk) {
    const n = Math.min(chunk, size - off);
    const r = await send(server, "PATCH", loc, src.take(n), {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(n),
      "Content-Range": `${off}-${off + n - 1}`,
    });
    if (r.status !== 202) throw new Error(`PATCH at ${off}: ${r.status} ${r.body}`);
  }
}

async function finish(server, loc, digest) {
  const r = await send(server, "PUT", `${loc}?digest=${digest}`, [], { "Content-Length": "0" });
  if (r.status !== 201) throw new Error(`PUT ${r.status} ${r.body}`);
}

/** POST ?digest= with the whole body: one streamed R2 put, the simulator's own cost (digest known up front). */
async function monolithic(server, repo, size, seed) {
  const pre = new Source(blobStream(size, seed));
  for (const _ of pre.take(size));
  const digest = pre.digest();
  const src = new Source(blobStream(size, seed));
  const r = await send(server, "POST", `/v2/${repo}/blobs/uploads/?digest=${digest}`, src.take(size), {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(size),
  });
  if (r.status !== 201) throw new Error(`POST ${r.status} ${r.body}`);
  return digest;
}

/**
 * GET the blob (following the signed-URL redirect), hashing as it streams. PULL_RANGE_MB > 0 pulls it
 * in Range requests of that size (the local R2 simulator holds a whole multipart object in memory when
 * it is read in one GET; see README "Large uploads").
 */
async function pull(server, repo, digest, size) {
  const piece = Number(process.env.PULL_RANGE_MB || 0) * MiB;
  const h = createHash("sha256");
  let n = 0;
  const first = await get(server, `/v2/${repo}/blobs/${digest}`, {}, null);
  const path = first.status === 307 ? new URL(first.headers.location).pathname + new URL(first.headers.location).search : null;
  if (!path) throw new Error(`GET ${first.status}`);
  for (let off = 0; off < size; off += piece || size) {
    const headers = piece ? { Range: `bytes=${off}-${Math.min(size, off + piece) - 1}` } : {};
    const res = await get(server, path, headers, (part) => {
      h.update(part);
      n += part.length;
    });
    if (res.status !== (piece ? 206 : 200)) throw new Error(`GET ${res.status} at ${off}`);
  }
  return { digest: `sha256:${h.digest("hex")}`, bytes: n };
}

/** A GET over node:http; body pieces go to `onData` (or are discarded). */
function get(server, path, headers, onData) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, method: "GET", path, headers }, (res) => {
      res.on("data", (d) => onData?.(d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const secs = (t0) => (performance.now() - t0) / 1000;
const rate = (bytes, s) => `${Math.round(bytes / MiB / s)} MiB/s`;

// --- scenarios -------------------------------------------------------------------------------------

async function withServer(fn) {
  const dataDir = mkdtempSync(join(tmpdir(), "wharf-measure-"));
  const server = new Server(await freePort(), dataDir);
  try {
    await server.start();
    return await fn(server);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function throughput(gib) {
  const size = Math.round(gib * GiB);
  await withServer(async (server) => {
    // Normal path: the session hashes in memory; the final PUT only compares.
    let src = new Source(blobStream(size, 1));
    let loc = await openSession(server, "measure/normal");
    let t0 = performance.now();
    await pushChunks(server, loc, src, size, CHUNK);
    const patchS = secs(t0);
    let t1 = performance.now();
    await finish(server, loc, src.digest());
    const putS = secs(t1);
    report("normal path (hash in memory)", { size, chunkMB: CHUNK / 1e6, patchS, putS, totalS: secs(t0), push: rate(size, secs(t0)) });

    // After-restart path: restart between the last chunk and the PUT, so the digest is read back.
    src = new Source(blobStream(size, 2));
    loc = await openSession(server, "measure/restart");
    t0 = performance.now();
    await pushChunks(server, loc, src, size, CHUNK);
    const patch2S = secs(t0);
    await server.stop();
    await server.start();
    const probe = new MemoryProbe(server);
    t1 = performance.now();
    await finish(server, loc, src.digest());
    const put2S = secs(t1);
    const readBackMemory = probe.stop();
    report("after-restart path (read-back)", {
      size, chunkMB: CHUNK / 1e6, patchS: patch2S, putS: put2S, pushS: patch2S + put2S, push: rate(size, patch2S + put2S),
      readBack: rate(size, put2S), readBackPeakEachMiB: readBackMemory.peakEachMiB,
    });
  });
}

async function memory(gib) {
  const size = Math.round(gib * GiB);
  const variants = [["baseline: monolithic POST ?digest= (one R2 put, no session)", -1], ["one streamed PATCH", 0], [`${CHUNK / 1e6} MB chunks`, CHUNK]];
  for (const [label, chunk] of variants) {
    await withServer(async (server) => {
      const idle = new MemoryProbe(server);
      await sleep(300);
      const before = idle.stop();
      const probe = new MemoryProbe(server);
      const t0 = performance.now();
      if (chunk < 0) {
        await monolithic(server, "measure/memory", size, 3);
      } else {
        const src = new Source(blobStream(size, 3));
        const loc = await openSession(server, "measure/memory");
        await pushChunks(server, loc, src, size, chunk);
        await finish(server, loc, src.digest());
      }
      const s = secs(t0);
      report(`memory: ${label}`, { size, seconds: s, push: rate(size, s), idleRssMiB: before.peakEachMiB, ...probe.stop() });
    });
  }
}

async function roundtrip(gib) {
  const size = Math.round(gib * GiB);
  const free = statfsSync(tmpdir());
  const freeBytes = free.bavail * free.bsize;
  if (freeBytes < size * 2.5) throw new Error(`not enough disk in ${tmpdir()}: ${mib(freeBytes)} MiB free`);
  const chunk = process.env.CHUNK_MB ? CHUNK : 0;
  await withServer(async (server) => {
    let probe = new MemoryProbe(server);
    const src = new Source(blobStream(size, 4));
    const t0 = performance.now();
    let digest;
    if (process.env.PUSH === "mono") {
      digest = await monolithic(server, "measure/roundtrip", size, 4);
    } else {
      const loc = await openSession(server, "measure/roundtrip");
      await pushChunks(server, loc, src, size, chunk);
      digest = src.digest();
      await finish(server, loc, digest);
    }
    const pushS = secs(t0);
    const pushMemory = probe.stop();
    probe = new MemoryProbe(server);
    const t1 = performance.now();
    const pulled = await pull(server, "measure/roundtrip", digest, size);
    const pullS = secs(t1);
    if (pulled.digest !== digest || pulled.bytes !== size) throw new Error(`pulled ${pulled.bytes} bytes ${pulled.digest}, pushed ${digest}`);
    report("roundtrip", {
      size, chunk: chunk ? `${chunk / 1e6} MB` : "one streamed PATCH", pullRangeMB: Number(process.env.PULL_RANGE_MB || 0), digest, pushS, push: rate(size, pushS), pullS, pull: rate(size, pullS),
      digestChecked: true, pushPeakEachMiB: pushMemory.peakEachMiB, pullPeakEachMiB: probe.stop().peakEachMiB,
    });
  });
}

function report(name, values) {
  const v = { ...values };
  if (v.size) v.size = `${mib(v.size)} MiB`;
  for (const k of Object.keys(v)) if (typeof v[k] === "number" && k.endsWith("S")) v[k] = Math.round(v[k] * 100) / 100;
  console.log(JSON.stringify({ scenario: name, ...v }));
}

const [what = "throughput", arg] = process.argv.slice(2);
const scenarios = { throughput: [throughput, 1], memory: [memory, 2], roundtrip: [roundtrip, 6] };
if (!scenarios[what]) {
  console.error(`usage: node scripts/measure-large.mjs ${Object.keys(scenarios).join("|")} [GiB]`);
  process.exit(2);
}
const [fn, dflt] = scenarios[what];
console.log(JSON.stringify({ part: process.env.UPLOAD_PART_SIZE || "default (16 MiB)", cores: (await import("node:os")).cpus().length }));
await fn(arg ? Number(arg) : dflt);
