#!/usr/bin/env node
/**
 * Peak workerd RSS while one large blob is pushed: `node scripts/bench/push-memory.mjs [MiB] [chunk MiB]`.
 *
 * Starts a fresh Wharf and the floor Worker from a frozen copy of the checkout, writes a random file of
 * `MiB` (default 1024) and pushes it three ways, one after another, sampling the RSS of each server's
 * workerd processes every 100 ms (lib/procs.mjs): to the floor (one PUT), to Wharf as skopeo does (POST,
 * one whole-blob PATCH with Content-Length, PUT ?digest=), and to Wharf in chunks as the wharf CLI does
 * (PATCH with Content-Range, `chunk MiB` each, default 64). Prints peak RSS and seconds for each.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, readSync, writeSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeRandomFile } from "./lib/images.mjs";
import { cleanupLater, removeDir, sampleRss } from "./lib/procs.mjs";
import { memoryGroup, startFloor, startWharf } from "./lib/servers.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 1024) * MiB;
const chunk = Number(process.argv[3] ?? 64) * MiB;

const work = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-pushmem-")));
const file = join(work, "blob");
const { digest } = writeRandomFile(file, size);

/** One HTTP request with a body read from the file (start..end), streamed. */
function send(url, method, { start = 0, end = -1, headers = {} } = {}) {
  return new Promise((res, rej) => {
    const u = new URL(url);
    const len = end >= start ? end - start + 1 : 0;
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: { ...headers, "Content-Length": String(len) } }, (r) => {
      const parts = [];
      r.on("data", (d) => parts.push(d));
      r.on("end", () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(parts).toString() }));
    });
    req.on("error", rej);
    if (len) createReadStream(file, { start, end, highWaterMark: MiB }).pipe(req);
    else req.end();
  });
}

async function measure(label, server, fn) {
  const s = sampleRss([server.pid], memoryGroup(server));
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  const { peakBytes, cpuSeconds } = s.stop();
  console.log(`| ${label} | ${(peakBytes.workerd / MiB).toFixed(0)} MiB | ${seconds.toFixed(2)} s | ${(cpuSeconds.workerd ?? 0).toFixed(2)} s |`);
}

function expect(r, status) {
  if (r.status !== status) throw new Error(`${status} expected, got ${r.status}: ${r.body}`);
  return r;
}

const code = snapshotCheckout(root);
const [wharf, floor] = await Promise.all([startWharf(code), startFloor(code)]);
try {
  console.log(`${size / MiB} MiB blob; peak RSS of each server's workerd processes (sum), wall and workerd CPU seconds`);
  console.log("| push | peak workerd RSS | wall | workerd CPU |");
  console.log("|---|---|---|---|");
  await measure("floor: one PUT", floor, async () => expect(await send(`${floor.url}/mem/1`, "PUT", { end: size - 1 }), 200));
  await measure("Wharf: idle, after start", wharf, async () => new Promise((r) => setTimeout(r, 300)));
  await measure("Wharf: whole-blob PATCH (skopeo)", wharf, async () => {
    const post = expect(await send(`${wharf.url}/v2/mem/whole/blobs/uploads/`, "POST"), 202);
    const loc = new URL(post.headers.location, wharf.url);
    expect(await send(loc, "PATCH", { end: size - 1, headers: { "Content-Type": "application/octet-stream" } }), 202);
    loc.searchParams.set("digest", digest);
    expect(await send(loc, "PUT"), 201);
  });
  // Same content would hit the content index: a second file with a different first byte.
  {
    const fd = openSync(file, "r+");
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 0);
    b[0] ^= 0xff;
    writeSync(fd, b, 0, 1, 0);
    closeSync(fd);
  }
  await measure(`Wharf: ${chunk / MiB} MiB chunks (wharf CLI)`, wharf, async () => {
    const post = expect(await send(`${wharf.url}/v2/mem/chunked/blobs/uploads/`, "POST"), 202);
    let loc = new URL(post.headers.location, wharf.url);
    for (let off = 0; off < size; off += chunk) {
      const end = Math.min(size, off + chunk) - 1;
      const r = expect(await send(loc, "PATCH", { start: off, end, headers: { "Content-Range": `${off}-${end}` } }), 202);
      loc = new URL(r.headers.location, wharf.url);
    }
    // The digest of the altered file is not known here: a PUT with the old digest must fail and drop it.
    loc.searchParams.set("digest", digest);
    const put = await send(loc, "PUT");
    if (put.status !== 400) throw new Error(`expected a digest mismatch, got ${put.status}`);
  });
} finally {
  await Promise.all([wharf.stop(), floor.stop()]);
  removeDir(work);
}
