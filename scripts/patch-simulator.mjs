#!/usr/bin/env node
/**
 * `npm install` / `npm ci` (postinstall): make the local runtime (`wrangler dev` and the R2 simulator)
 * move bytes at about the speed of the disk beneath it. Changes only local development tools; nothing
 * that runs in production, and no behaviour (same bytes, ranges, checksums, errors). Six patches:
 *
 * - multipart reads: miniflare assembles a GET of a multipart object (what every chunked push stores)
 *   by piping each part's blob stream through a JavaScript TransformStream, chunk by small chunk.
 *   Measured with the benchmark's floor Worker (bench/floor, `PUT ?part=16777216` stores a multipart
 *   object), 300 MB: plain object GET 0.35 CPU-s, multipart 11.7 CPU-s (about 25 MB/s of workerd CPU).
 *   A first patch read each part with a BYOB reader in 4 MiB pieces into the same TransformStream:
 *   0.79 CPU-s for the 300 MB, but 2.2-2.7 s for 1 GiB against 1.0-1.4 s for a single object, and the
 *   R2 simulator's isolate kept about an object's size of dead 4 MiB buffers after each read. Now the
 *   value handed to the object body is no stream at all but a `pipeTo(writable)`: the body's only
 *   reader, InternalR2ObjectBody.encode, pipes it into the response's native FixedLengthStream, and each
 *   part's native blob stream is piped straight into that, as a single object's body is. 1 GiB in 64
 *   parts, floor at its Worker's socket, 4 reads each: 0.34-0.43 s (0.32-0.40 CPU-s) against 0.31-0.46 s
 *   for the same bytes as one object; 205 parts of 5 MiB read back with the right SHA-256. (A native
 *   IdentityTransformStream in the TransformStream's place hangs, workerd 2026-04.)
 * - puts (objects and multipart parts): every put body is hashed (MD5, and any checksum asked for) by a
 *   JavaScript TransformStream fed in the small pieces the body arrives in. 50 MB put by a bare Worker
 *   (`env.B.put(key, request.body)`): 2.04 CPU-s of workerd and 3.0-4.3 s wall (load 4); the same body
 *   re-read in 1 MiB pieces (`readAtLeast`) before the hash: 0.25 CPU-s and 1.2-1.4 s. Every push, every
 *   pull-through fill and the benchmark's floor put run through it.
 * - wrangler dev's inspector: its InspectorProxyWorker turns on DevTools' Network domain in the
 *   Worker's runtime and forwards every DevTools message to wrangler's node process as one HTTP POST
 *   each. With Network on, every piece of every outbound fetch body is such a message: a pull-through
 *   fill of 50 MB from a loopback upstream sent thousands of them, kept wrangler's node process busy
 *   for seconds after the fill had finished (responses waited behind them: 19.6 s for a fill whose
 *   own work took 2.5 s), and once ran workerd out of file descriptors. Left out, the same fill answers
 *   in 0.87 s. Lost: the Network tab of DevTools attached to `npm start`.
 * - wrangler dev's Worker address: wrangler dev answers on its port with a ProxyWorker (a Durable Object
 *   in a second workerd) that fetch()es every request on to the Worker's own workerd, on a random port
 *   that changes with every reload. Measured (scripts/bench/front-hops.mjs, 8 connections, manifest GET
 *   by digest, with the request log below already off): 505 req/s through wrangler's port, 1,263
 *   straight at the Worker's socket; per request 1.7 ms of CPU in the proxy's workerd against 0.9-1.3 ms
 *   in the Worker.
 *   Patched, wrangler's DevEnv tells its parent over the IPC channel wrangler already opens for
 *   DEV_SERVER_READY where the Worker listens after every reload (and that a reload began), when
 *   WHARF_WORKER_EVENTS=1; scripts/start.mjs then sends connections straight there. Nothing changes for
 *   a `wrangler dev` started without that variable.
 * - wrangler dev's Worker port: wrangler asks miniflare for the Worker's socket with no port, so every
 *   start and every reload picks a random one. Patched, WHARF_WORKER_PORT (set by scripts/start.mjs)
 *   is that port, and miniflare binds the same one again at each reload. start.mjs then points signed
 *   blob URLs straight at it: blob bytes skip both wrangler's proxy and our front. Through wrangler's
 *   proxy, ten concurrent cold pulls of one 200 MB blob (test/e2e/proxy.test.ts, looped) left 3-4 of the
 *   nine redirected GETs without an answer for good by the second or third round, in 5 runs of 5
 *   (2026-12-02: they never reached the Worker); through our front they all finished, but node copies
 *   bodies at 300-900 MB/s of CPU.
 * - wrangler dev's request log: the miniflare instance that runs wrangler's ProxyWorker (every request
 *   passes it) logs each request by an HTTP request to wrangler's node process ("[wrangler:info] GET /v2/
 *   200 OK (5ms)"). Measured with 600 sequential GETs, load 3.3: the floor Worker's trivial `/ping` cost
 *   3.2 ms of node CPU, 4.1 + 3.8 ms in the two workerd processes and 17.5 ms wall per request; Wharf's
 *   `GET /v2/` 14.4 ms wall. Without the line: no node CPU, 2.6 + 2.9 ms of workerd, 10.0 ms wall; `GET
 *   /v2/` 10.1 ms. Wharf logs every request itself (LOG_REQUESTS, one JSON line), so only wrangler's own
 *   line is lost.
 *
 * Each edit is an exact text replacement in the bundled file it names, made only where the original
 * text is found (idempotent; after an upgrade that changes the code it says so and changes nothing).
 * `node scripts/patch-simulator.mjs --check` exits 1 unless every copy found has every patch.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WORKER_PORT_MARK, WRANGLER_CLI as WRANGLER_CLI_FILE } from "./lib/wrangler-patches.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const R2_WORKERS = [
  "node_modules/wrangler/node_modules/miniflare/dist/src/workers/r2/bucket.worker.js", // npm start, bench
  "node_modules/miniflare/dist/src/workers/r2/bucket.worker.js", // vitest-pool-workers
];
const INSPECTOR_PROXY = ["node_modules/wrangler/wrangler-dist/InspectorProxyWorker.js"]; // npm start, bench
const WRANGLER_CLI = [WRANGLER_CLI_FILE]; // npm start, bench

const MARK = "/* wharf: multipart read piped part by part into the response (scripts/patch-simulator.mjs) */";
const ORIGINAL = `    let identity2 = new TransformStream();
    return (async () => {
      let i = 0;
      try {
        for (; i < requiredParts.length; i++) {
          let { blobId, range } = requiredParts[i], value = await this.blob.get(blobId, range), msg = \`Expected to find blob "\${blobId}" for multipart value\`;
          assert2(value !== null, msg), await value.pipeTo(identity2.writable, { preventClose: !0 }), this.#releaseBlob(blobId);
        }
        await identity2.writable.close();
      } catch (e) {
        await identity2.writable.abort(e);
      } finally {
        for (; i < requiredParts.length; i++)
          this.#releaseBlob(requiredParts[i].blobId);
      }
    })(), identity2.readable;`;
// The object body's only reader is InternalR2ObjectBody.encode, which calls `body.pipeTo(writable)` on
// the response's native FixedLengthStream: given a `pipeTo` of its own, the multipart value pipes each
// part's native blob stream straight into it (native to native, as a single object's body goes).
const PATCHED = `    ${MARK}
    return { pipeTo: async (writable) => {
      let i = 0;
      try {
        for (; i < requiredParts.length; i++) {
          let { blobId, range } = requiredParts[i], value = await this.blob.get(blobId, range), msg = \`Expected to find blob "\${blobId}" for multipart value\`;
          assert2(value !== null, msg), await value.pipeTo(writable, { preventClose: !0 }), this.#releaseBlob(blobId);
        }
        await writable.close();
      } catch (e) {
        await writable.abort(e);
      } finally {
        for (; i < requiredParts.length; i++)
          this.#releaseBlob(requiredParts[i].blobId);
      }
    } };`;
const ENCODE = "this.body.pipeTo(identity2.writable)";

/** Multipart reads: the new text, or null when the original (and encode's one use of the body) is not found exactly once. */
function patchMultipartRead(text) {
  const parts = text.split(ORIGINAL);
  if (parts.length !== 2 || text.split(ENCODE).length !== 2) return null;
  return parts.join(PATCHED);
}

const PUT_MARK = "/* wharf: put bodies hashed in 1 MiB pieces (scripts/patch-simulator.mjs) */";
const PUT_ORIGINAL = "value.pipeThrough(digesting)";
const PUT_PATCHED = "wharfLargeChunks(value).pipeThrough(digesting)";
const PUT_HELPER = `${PUT_MARK}
function wharfLargeChunks(stream) {
  let reader;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    return stream;
  }
  return new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.readAtLeast(1048576, new Uint8Array(1048576));
      if (value !== void 0 && value.byteLength > 0) controller.enqueue(value);
      if (done) controller.close();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
`;

/** Puts (#put and #uploadPart both hash `value` this way): the new text, or null when not found twice. */
function patchPut(text) {
  const parts = text.split(PUT_ORIGINAL);
  if (parts.length !== 3) return null;
  return PUT_HELPER + parts.join(PUT_PATCHED);
}

const NETWORK_MARK = "/* wharf: Network.enable left out (scripts/patch-simulator.mjs) */";
const NETWORK_ORIGINAL = `    this.sendRuntimeMessage(
      { method: "Network.enable", id: this.nextCounter() },
      runtime
    );
`;

/** The inspector proxy without the Network domain: the new text, or null when not found exactly once. */
function patchInspectorNetwork(text) {
  const parts = text.split(NETWORK_ORIGINAL);
  if (parts.length !== 2) return null;
  return parts.join(`    ${NETWORK_MARK}\n`);
}

const WORKER_MARK = "/* wharf: the Worker's address told over IPC (scripts/patch-simulator.mjs) */";
const WORKER_ORIGINAL = `          case "reloadStart":
            this.proxy.onReloadStart(event);
            break;
          case "reloadComplete":
            this.proxy.onReloadComplete(event);
            break;
`;
const WORKER_PATCHED = `          case "reloadStart":
            ${WORKER_MARK}
            if (process.env.WHARF_WORKER_EVENTS === "1" && process.send) process.send(JSON.stringify({ event: "WHARF_WORKER", state: "reloading" }));
            this.proxy.onReloadStart(event);
            break;
          case "reloadComplete":
            if (process.env.WHARF_WORKER_EVENTS === "1" && process.send) {
              const u = event.proxyData?.userWorkerUrl;
              if (u) process.send(JSON.stringify({ event: "WHARF_WORKER", state: "ready", protocol: u.protocol, hostname: u.hostname, port: Number(u.port) }));
            }
            this.proxy.onReloadComplete(event);
            break;
`;

/** DevEnv.dispatch telling its parent where the Worker listens: the new text, or null when not found once. */
function patchWorkerEvents(text) {
  const parts = text.split(WORKER_ORIGINAL);
  if (parts.length !== 2) return null;
  return parts.join(WORKER_PATCHED);
}

const PORT_ORIGINAL = `    initialPort: void 0,
    initialIp: "127.0.0.1",`;

/** The Worker's socket on WHARF_WORKER_PORT when that is set: the new text, or null when not found exactly once. */
function patchWorkerPort(text) {
  const parts = text.split(PORT_ORIGINAL);
  if (parts.length !== 2) return null;
  return parts.join(`    ${WORKER_PORT_MARK}
    initialPort: process.env.WHARF_WORKER_PORT ? Number(process.env.WHARF_WORKER_PORT) : void 0,
    initialIp: "127.0.0.1",`);
}

const REQUEST_LOG_MARK = "/* wharf: ProxyWorker request log off (scripts/patch-simulator.mjs) */";
const REQUEST_LOG_ORIGINAL = `          handleStructuredLogs,
          liveReload: false
        };
        if (this.inspectorEnabled) {`;

/** wrangler's ProxyWorker instance with miniflare's per-request log off: the new text, or null when not found exactly once. */
function patchProxyRequestLog(text) {
  const parts = text.split(REQUEST_LOG_ORIGINAL);
  if (parts.length !== 2) return null;
  return parts.join(`          handleStructuredLogs,
          liveReload: false,
          ${REQUEST_LOG_MARK}
          logRequests: false
        };
        if (this.inspectorEnabled) {`);
}

const PATCHES = [
  { files: R2_WORKERS, mark: MARK, apply: patchMultipartRead, what: "multipart reads in 4 MiB pieces", otherwise: "multipart pulls stay slow locally" },
  { files: R2_WORKERS, mark: PUT_MARK, apply: patchPut, what: "put bodies hashed in 1 MiB pieces", otherwise: "pushes stay slow locally" },
  {
    files: INSPECTOR_PROXY,
    mark: NETWORK_MARK,
    apply: patchInspectorNetwork,
    what: "DevTools Network domain off",
    otherwise: "outbound fetches, such as pull-through fills, stay slow under npm start",
  },
  {
    files: WRANGLER_CLI,
    mark: REQUEST_LOG_MARK,
    apply: patchProxyRequestLog,
    what: "wrangler's per-request log line off",
    otherwise: "every request costs wrangler's node process about 3 ms of CPU under npm start",
  },
  {
    files: WRANGLER_CLI,
    mark: WORKER_MARK,
    apply: patchWorkerEvents,
    what: "the Worker's address told over IPC",
    otherwise: "npm start keeps sending every request through wrangler dev's proxy",
  },
  {
    files: WRANGLER_CLI,
    mark: WORKER_PORT_MARK,
    apply: patchWorkerPort,
    what: "the Worker's port fixed by WHARF_WORKER_PORT",
    otherwise: "npm start's signed blob URLs go through its front",
  },
];

const check = process.argv.includes("--check");
let unpatched = 0;
for (const rel of new Set(PATCHES.flatMap((p) => p.files))) {
  const file = join(root, rel);
  if (!existsSync(file)) continue;
  let text = readFileSync(file, "utf8");
  let changed = false;
  for (const p of PATCHES.filter((q) => q.files.includes(rel))) {
    if (text.includes(p.mark)) continue;
    const out = p.apply(text);
    if (out === null) {
      console.warn(`patch-simulator: ${rel}: not the code this patch knows (${p.what}); left as it is (${p.otherwise})`);
      unpatched++;
      continue;
    }
    if (check) {
      unpatched++;
      continue;
    }
    text = out;
    changed = true;
    console.log(`patch-simulator: ${rel}: ${p.what}`);
  }
  if (changed) writeFileSync(file, text);
}
if (check && unpatched) process.exit(1);
