#!/usr/bin/env node
/**
 * What each hop of `npm start`'s local path costs, per request and per connection:
 * `node scripts/bench/front-hops.mjs [--seconds 3] [--rounds 2] [--connections 1,8,64] [--targets a,b] [--cases a,b] [--compare DIR]`
 * (run it under the benchmark lock: `flock /work/wt/bench.lock node scripts/bench/front-hops.mjs`).
 * `--targets`, `--cases`: only those whose name contains one of the words. `--compare DIR`: also start the Wharf of another checkout (say, main's) and measure it through its own
 * `npm start` port, side by side with this one ("wharf before (front)").
 *
 * Starts a fresh Wharf (scripts/start.mjs, from a frozen copy of the checkout), CNCF distribution and the
 * floor Worker, as `npm run bench` does, seeds the load workload's tiny image, and then measures the same
 * requests at every address a request can enter by:
 *   - wharf (front):   `npm start`'s port, our node TCP front (scripts/start.mjs);
 *   - wharf (wrangler): wrangler dev's own port, its ProxyWorker (a Durable Object in a second workerd
 *                       that fetch()es every request on to the Worker's workerd);
 *   - wharf (worker):  the Worker's own workerd socket, no proxy at all;
 *   - haproxy (front): HAProxy 2.6 in TCP mode, one thread, in our front's place before the Worker's
 *                      socket (when /usr/sbin/haproxy is installed): what a relay written in C costs;
 *   - distribution, and the floor Worker both at wrangler dev's port and at its Worker's own socket.
 * The Worker's socket is found from the process tree: the workerd that does not listen on wrangler's
 * port, and of its listening ports the one that answers the probe request.
 *
 * Cases: GET /v2/, manifest GET by tag and by digest (wrk), blob HEAD (lib/head-load.mjs), and GET /v2/
 * on a new connection for every request (our own loop below: connect, one request, close), whose
 * difference to the keep-alive GET /v2/ is what a connection costs; blob GETs at the signed URL the
 * Worker redirects to (the path and query of its Location, sent to each entry), of the tiny layer and of
 * a 32 MiB blob (1 connection only), beside distribution's GET of the same blobs; blob uploads of 1 MiB
 * (POST, a whole-blob PATCH, DELETE; at most 8 connections), what an upload body costs each hop. For
 * every run it reads from /proc the CPU seconds each process group used (our front, wrangler's node
 * processes, the proxy's workerd, the Worker's workerd, distribution) and prints them per request,
 * beside requests/s and p50.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { measure, OCI_MANIFEST } from "./lib/load.mjs";
import { listeningPorts, processTree } from "./lib/procs.mjs";
import { call, seedTinyImage, uploadBlob } from "./lib/registry-api.mjs";
import { startDistribution, startFloor, startTcpRelay, startWharf, workerSocket } from "./lib/servers.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const seconds = Number(opt("seconds", 3));
const rounds = Number(opt("rounds", 2));
const connections = opt("connections", "1,8,64").split(",").map(Number);
const onlyTargets = opt("targets", "")?.split(",").filter(Boolean);
const compare = opt("compare", undefined);
const onlyCases = opt("cases", "")?.split(",").filter(Boolean);
const log = (...a) => console.error("hops:", ...a);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * `once()` on `n` loops at a time until `seconds` pass; each call resolves true when it succeeded.
 * Requests/s, the median latency and the count of the calls that succeeded, and the count that failed.
 */
async function repeat(n, seconds, once) {
  const deadline = performance.now() + seconds * 1000;
  const latencies = [];
  let errors = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      if (await once()) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50ms: latencies[Math.floor(latencies.length / 2)], requests: latencies.length, errors };
}

/** Connect, send one GET, read the whole response (Content-Length), close; again until `seconds` pass. */
async function connectionLoad(url, { connections: n, seconds: s }) {
  const u = new URL(url);
  const request = Buffer.from(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`);
  const once = () => new Promise((res) => {
    const sock = connect({ host: u.hostname, port: Number(u.port), noDelay: true });
    let buf = Buffer.alloc(0);
    const done = (ok) => {
      sock.removeAllListeners();
      sock.on("error", () => undefined);
      sock.destroy();
      res(ok);
    };
    sock.on("connect", () => sock.write(request));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length >= end + 4 + len) done(/^HTTP\/1\.[01] 2/.test(head));
    });
    sock.on("error", () => done(false));
    sock.setTimeout(10_000, () => done(false));
  });
  const r = await repeat(n, s, once);
  if (r.errors) throw new Error(`${url}: ${r.errors} failed connections`);
  return r;
}

/**
 * Blob uploads, `connections` at a time until `seconds` pass: POST a session, PATCH `bytes` as the whole
 * blob, DELETE the session (so nothing is kept). Counts blobs, not requests.
 */
async function uploadLoad(base, repo, bytes, { connections: n, seconds: s }) {
  return repeat(n, s, async () => {
    const { r } = await call(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" }, [202]);
    const session = new URL(r.headers.get("location"), base);
    await call(session, { method: "PATCH", body: bytes, headers: { "Content-Type": "application/octet-stream" } }, [202]);
    await call(session, { method: "DELETE" }, [204]);
    return true;
  });
}

/** The Worker's own socket (servers.mjs workerSocket), or an error naming the server. */
async function workerUrl(server, wranglerPort, probe) {
  const url = await workerSocket(server, wranglerPort, probe.path, probe.ok);
  if (!url) throw new Error(`no workerd socket of ${server.name} answers ${probe.path}`);
  return url;
}

/** Which group a process of a server tree counts in; workerd split into wrangler's proxy and the Worker. */
function classifier(server, wranglerPort) {
  const proxyPids = new Set();
  for (const p of processTree(server.pid)) if (p.comm.startsWith("workerd") && listeningPorts(p.pid).includes(wranglerPort)) proxyPids.add(p.pid);
  return (p) => {
    if (server.kind === "distribution") return "distribution";
    if (p.pid === server.pid && server.kind === "wharf") return "front";
    if (p.comm.startsWith("workerd")) return proxyPids.has(p.pid) ? "proxy workerd" : "worker workerd";
    if (p.comm === "node" || p.comm.startsWith("MainThread")) return "wrangler node";
    return null;
  };
}

function cpu(servers) {
  const sums = {};
  for (const s of servers) for (const p of processTree(s.pid)) {
    const g = s.classify(p);
    if (g) sums[`${s.name}: ${g}`] = (sums[`${s.name}: ${g}`] ?? 0) + p.cpuSeconds;
  }
  return sums;
}

const code = snapshotCheckout(root);
const servers = [];
const results = [];
const load0 = loadavg();
try {
  const [wharf, distribution, floor, before] = await Promise.all([
    startWharf(code), startDistribution(), startFloor(code), compare ? startWharf(snapshotCheckout(resolve(compare))) : undefined,
  ]);
  servers.push(wharf, distribution, floor);
  if (before) {
    before.name = "wharf before";
    before.classify = classifier(before, Number(new URL(before.innerUrl).port));
    servers.push(before);
  }
  const wharfWranglerPort = Number(new URL(wharf.innerUrl).port);
  const isWharf = (r, body) => r.headers.get("docker-distribution-api-version") === "registry/2.0" && body === "{}";
  const wharfWorker = await workerUrl(wharf, wharfWranglerPort, { path: "/v2/", ok: isWharf });
  const floorWorker = await workerUrl(floor, floor.port, { path: "/ping", ok: (r, body) => r.status === 200 && body === "ok" });
  wharf.classify = classifier(wharf, wharfWranglerPort);
  const relay = await startTcpRelay(wharfWorker, "/v2/");
  if (relay) {
    relay.classify = () => "relay";
    servers.push(relay);
  }
  floor.classify = classifier(floor, floor.port);
  distribution.classify = () => "distribution";
  log(`wharf front ${wharf.url}, wrangler ${wharf.innerUrl}, worker ${wharfWorker}; distribution ${distribution.url}; floor ${floor.url}, worker ${floorWorker}`);

  const repo = "bench/load";
  const img = { wharf: await seedTinyImage(wharf.url, repo), distribution: await seedTinyImage(distribution.url, repo) };
  if (before) img.before = await seedTinyImage(before.url, repo);
  const put = await fetch(`${floor.url}/load/tiny`, { method: "PUT", body: img.wharf.manifest });
  if (!put.ok) throw new Error(`floor PUT ${put.status}`);
  const bigBytes = randomBytes(32 * 2 ** 20);
  const uploadBytes = randomBytes(2 ** 20);
  const big = await uploadBlob(wharf.url, repo, bigBytes);
  await uploadBlob(distribution.url, repo, bigBytes);
  /** The path and query of the signed URL Wharf redirects a blob GET to. */
  const signed = async (base, digest) => {
    const r = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { redirect: "manual" });
    await r.arrayBuffer();
    if (r.status !== 307) throw new Error(`blob GET ${digest}: ${r.status}, expected a 307 to the signed URL`);
    const u = new URL(r.headers.get("location"), base);
    return u.pathname + u.search;
  };
  const blobCases = async (base, i) => {
    const direct = base === distribution.url;
    const tiny = direct ? `/v2/${repo}/blobs/${i.layer.digest}` : await signed(base, i.layer.digest);
    const large = direct ? `/v2/${repo}/blobs/${big.digest}` : await signed(base, big.digest);
    return [
      { case: "blob GET at the signed URL, 22 bytes", path: tiny },
      { case: "blob GET at the signed URL, 32 MiB", path: large, maxConnections: 1 },
    ];
  };

  const registryCases = (i) => [
    { case: "GET /v2/", path: "/v2/" },
    { case: "GET /v2/, a new connection each", path: "/v2/", fresh: true },
    { case: "manifest GET by tag", path: `/v2/${repo}/manifests/latest`, headers: { Accept: OCI_MANIFEST } },
    { case: "manifest GET by digest", path: `/v2/${repo}/manifests/${i.manifestDigest}`, headers: { Accept: OCI_MANIFEST } },
    { case: "blob HEAD", path: `/v2/${repo}/blobs/${i.layer.digest}`, method: "HEAD" },
    { case: "blob upload of 1 MiB (POST, PATCH, DELETE; per blob)", upload: uploadBytes, maxConnections: 8 },
  ];
  const floorCases = [{ case: "floor: GET of a small R2 object", path: "/load/tiny" }, { case: "floor: a new connection each", path: "/load/tiny", fresh: true }];
  // The same requests at every entry of Wharf's path (the signed URLs asked for once).
  const wharfCases = [...registryCases(img.wharf), ...(await blobCases(wharf.url, img.wharf))];
  const targets = [
    ...(before ? [{ target: "wharf before (front)", server: before, base: before.url, cases: registryCases(img.before) }] : []),
    { target: "wharf (front)", server: wharf, base: wharf.url, cases: wharfCases },
    { target: "wharf (wrangler)", server: wharf, base: wharf.innerUrl, cases: wharfCases },
    ...(relay ? [{ target: "haproxy (front)", server: wharf, relay, base: relay.url, cases: wharfCases }] : []),
    { target: "wharf (worker)", server: wharf, base: wharfWorker, cases: wharfCases },
    { target: "distribution", server: distribution, base: distribution.url, cases: [...registryCases(img.distribution), ...(await blobCases(distribution.url, img.distribution))] },
    { target: "floor (wrangler)", server: floor, base: floor.url, cases: floorCases },
    { target: "floor (worker)", server: floor, base: floorWorker, cases: floorCases },
  ].filter((t) => !onlyTargets?.length || onlyTargets.some((o) => t.target.includes(o)));

  for (let round = 0; round < rounds; round++) {
    for (const c of connections) {
      for (const t of round % 2 ? [...targets].reverse() : targets) {
        for (const k of t.cases) {
          if (k.maxConnections && c > k.maxConnections) continue;
          if (onlyCases?.length && !onlyCases.some((o) => k.case.includes(o))) continue;
          const c0 = cpu(servers);
          const g0 = process.cpuUsage();
          const url = t.base + k.path;
          const load = { connections: c, seconds };
          const r = k.upload ? await uploadLoad(t.base, repo, k.upload, load) : k.fresh ? await connectionLoad(url, load) : await measure(url, { ...load, method: k.method ?? "GET", headers: k.headers ?? {} });
          const g1 = process.cpuUsage(g0);
          const c1 = cpu(servers);
          const cpuMsPerRequest = {};
          for (const [g, v] of Object.entries(c1)) {
            if (!g.startsWith(`${t.server.name}: `) && !(t.relay && g.startsWith(`${t.relay.name}: `))) continue; // the idle servers' own background
            const d = v - (c0[g] ?? 0);
            if (d > 0) cpuMsPerRequest[g] = (d * 1000) / r.requests;
          }
          const generator = k.fresh || k.upload || k.method === "HEAD" ? ((g1.user + g1.system) / 1000) / r.requests : undefined;
          results.push({ target: t.target, case: k.case, connections: c, round, rps: r.rps, p50ms: r.p50ms, requests: r.requests, cpuMsPerRequest, generatorCpuMsPerRequest: generator });
          log(`${t.target} ${k.case} c=${c} r${round}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50ms.toFixed(2)} ms`);
        }
      }
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
}
const load1 = loadavg();

// Medians of requests/s and p50; CPU per request as the median over rounds of each group.
const keyOf = (r) => `${r.case}\u0000${r.connections}\u0000${r.target}`;
const groups = new Map();
for (const r of results) {
  if (!groups.has(keyOf(r))) groups.set(keyOf(r), []);
  groups.get(keyOf(r)).push(r);
}
const rows = [];
for (const rs of groups.values()) {
  const cpuGroups = new Set(rs.flatMap((r) => Object.keys(r.cpuMsPerRequest)));
  const cpuMs = {};
  for (const g of cpuGroups) cpuMs[g] = median(rs.map((r) => r.cpuMsPerRequest[g] ?? 0));
  rows.push({ target: rs[0].target, case: rs[0].case, connections: rs[0].connections, rps: median(rs.map((r) => r.rps)), p50ms: median(rs.map((r) => r.p50ms)), cpuMs });
}
const short = (g) => g.replace(/^(wharf before|wharf|floor|distribution|haproxy): /, "");
const lines = [
  `Load average ${load0.map((x) => x.toFixed(2)).join(" ")} at the start, ${load1.map((x) => x.toFixed(2)).join(" ")} at the end; ${rounds} rounds of ${seconds} s, medians.`,
  "",
  "| case | conns | entered at | req/s | p50 ms | server CPU ms per request |",
  "|---|---|---|---|---|---|",
];
for (const r of rows.sort((a, b) => a.case.localeCompare(b.case) || a.connections - b.connections)) {
  const cpuText = Object.entries(r.cpuMs).filter(([, v]) => v >= 0.005).map(([g, v]) => `${short(g)} ${v.toFixed(2)}`).join(", ");
  lines.push(`| ${r.case} | ${r.connections} | ${r.target} | ${r.rps.toFixed(0)} | ${r.p50ms.toFixed(2)} | ${cpuText} |`);
}
const markdown = lines.join("\n");
const out = join(root, "bench-results");
mkdirSync(out, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(join(out, `hops-${stamp}.json`), JSON.stringify({ seconds, rounds, connections, load0, load1, results, rows }, null, 2));
writeFileSync(join(out, `hops-${stamp}.md`), markdown + "\n");
console.log(markdown);
log(`wrote bench-results/hops-${stamp}.md and .json`);
