/**
 * The three servers of the benchmark, each fresh, on a free loopback port, with state in its own temporary
 * folder: Wharf (scripts/start.mjs, i.e. `npm start`: our TCP front + `wrangler dev`), CNCF distribution
 * 2.8 (/usr/bin/docker-registry, filesystem storage), and the floor Worker (bench/floor: a bare R2 put/get
 * under the same `wrangler dev`).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { frontServer } from "../../lib/front.mjs";
import { cleanupLater, cpuByGroup, freePort, listeningPorts, processTree, removeDir, startGroup } from "./procs.mjs";

// Log level "log": wrangler's reload notices and the Worker's console stay in the log. wrangler's proxy also
// prints a request line for every request it carries (level info); what goes past it (npm start's front,
// requests to the floor's own Worker socket) is not logged.
const WRANGLER_ENV = { WRANGLER_SEND_METRICS: "false", WHARF_LOG_LEVEL: "log", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
// Wharf's own per-request JSON log line is an access log too: off, like distribution's (wrangler's node
// process would otherwise print one line per request, at a cost the registry itself does not have).
const WHARF_ENV = { LOG_REQUESTS: "false" };

/**
 * Each `wrangler dev` gets its own dev registry folder. The default (~/.config/.wrangler/registry) is
 * shared by every `wrangler dev` on the machine, and every Wharf there registers under the same name;
 * while other checkouts' tests start and stop servers, a run saw PATCH/PUT requests (to Wharf and to
 * the floor alike) answered 503 "Your worker restarted mid-request" by wrangler's proxy. A private
 * registry keeps other servers' comings and goings out of ours.
 */
const privateRegistry = (dir) => ({ WRANGLER_REGISTRY_PATH: join(dir, "wrangler-registry") });

async function waitReady(url, server, name, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exited()) throw new Error(`${name} exited early:\n${server.log()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} not ready after ${timeoutMs / 1000} s:\n${server.log()}`);
}

function serverHandle(name, kind, port, server, dir) {
  return {
    name,
    kind,
    port,
    dataDir: dir,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    pid: server.pid,
    log: server.log,
    async stop() {
      await server.stop();
      removeDir(dir);
    },
  };
}

/**
 * Wharf as `npm start` runs it. Its handle's `innerUrl` is wrangler dev's port, `workerUrl` the Worker's
 * own socket, where the front sends connections.
 * `opts.dataDir`: start on that data folder (already seeded; removed on stop) instead of a fresh one.
 */
export function startWharf(root, env = {}, opts = {}) {
  return retryPortClash(() => startWharfOnce(root, env, opts));
}

/**
 * A port from freePort is free when picked, not when the server binds it: wrangler's own processes bind
 * ports the OS picks meanwhile, and now and then one is ours ("Address already in use"). Start again on
 * another port then.
 */
async function retryPortClash(start) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 3 || !/Address already in use|EADDRINUSE/.test(String(e?.message))) throw e;
    }
  }
}

async function startWharfOnce(root, env, opts) {
  const dir = opts.dataDir ?? cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-wharf-")));
  const port = await freePort();
  const server = startGroup(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    env: { ...process.env, ...WRANGLER_ENV, ...WHARF_ENV, ...privateRegistry(dir), ...env, PORT: String(port), WHARF_DATA: dir },
  });
  const h = serverHandle("wharf", "wharf", port, server, dir);
  await waitReady(`${h.url}/v2/`, server, "wharf");
  const inner = [...server.log().matchAll(/wrangler dev listens on 127\.0\.0\.1:(\d+)/g)].pop(); // the last start's
  if (inner) h.innerUrl = `http://127.0.0.1:${inner[1]}`;
  // The Worker's own socket, where the front sends connections (scripts/start.mjs; absent when wrangler
  // is not patched: then the front uses wrangler's port).
  const worker = [...server.log().matchAll(/the front connects straight to the Worker on 127\.0\.0\.1:(\d+)/g)].pop();
  if (worker) h.workerUrl = `http://127.0.0.1:${worker[1]}`;
  return h;
}

/** CNCF distribution 2.8 with filesystem storage, deletes enabled, access log off. */
export async function startDistribution() {
  const dir = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-distribution-")));
  const port = await freePort();
  mkdirSync(join(dir, "data"));
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "  cache:",
      "    blobdescriptor: inmemory",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const server = startGroup("/usr/bin/docker-registry", ["serve", config], { cwd: dir });
  const h = serverHandle("distribution", "distribution", port, server, dir);
  await waitReady(`${h.url}/v2/`, server, "distribution");
  return h;
}

/** The floor: bench/floor's 10-line Worker (PUT /x → R2 put, GET /x → R2 get) under `wrangler dev`. */
export function startFloor(root) {
  return retryPortClash(() => startFloorOnce(root));
}

async function startFloorOnce(root) {
  const dir = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-floor-")));
  const port = await freePort();
  const inspector = await freePort();
  const floorDir = join(root, "bench", "floor");
  const server = startGroup(
    join(root, "node_modules", ".bin", "wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", dir, "--inspector-port", String(inspector),
      "--show-interactive-dev-session=false", "--log-level", "log", "--config", join(floorDir, "wrangler.toml")],
    { cwd: floorDir, env: { ...process.env, ...WRANGLER_ENV, ...privateRegistry(dir) } },
  );
  const h = serverHandle("floor", "floor", port, server, dir);
  await waitReady(`${h.url}/ping`, server, "floor");
  h.workerUrl = await workerSocket(h, port, "/ping", (r, body) => r.status === 200 && body === "ok");
  // The floor registry (bench/floor's /v2/) for skopeo: behind npm start's TCP front, in this process, as
  // Wharf is behind its own (workerd never answers the TLS ClientHello skopeo sends first, so without
  // the front every push would wait out Go's 10 s handshake timeout).
  if (h.workerUrl) {
    const frontPort = await freePort();
    const front = await frontServer(frontPort, () => [Number(new URL(h.workerUrl).port)]);
    h.registry = { name: "floor registry", host: `127.0.0.1:${frontPort}`, url: `http://127.0.0.1:${frontPort}` };
    const stop = h.stop;
    h.stop = async () => {
      front.close();
      await stop();
    };
  }
  return h;
}

const HAPROXY = "/usr/sbin/haproxy";

/**
 * HAProxy 2.6 in TCP mode, one thread (one event loop, as our node front has), on a free port in front of
 * `target` (`http://127.0.0.1:port`): the reference for what a relay written in C for speed costs, beside
 * our TCP front (scripts/lib/front.mjs) on the same path. Null when haproxy is not installed.
 */
export async function startTcpRelay(target, probePath) {
  if (!existsSync(HAPROXY)) return null;
  const dir = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-haproxy-")));
  const port = await freePort();
  const config = join(dir, "haproxy.cfg");
  writeFileSync(
    config,
    [
      "global",
      "  nbthread 1",
      "  maxconn 4096",
      "defaults",
      "  mode tcp",
      "  timeout connect 5s",
      "  timeout client 120s",
      "  timeout server 120s",
      "frontend relay",
      `  bind 127.0.0.1:${port}`,
      "  default_backend upstream",
      "backend upstream",
      `  server worker ${new URL(target).host}`,
      "",
    ].join("\n"),
  );
  const server = startGroup(HAPROXY, ["-db", "-f", config], { cwd: dir });
  const h = serverHandle("haproxy", "relay", port, server, dir);
  await waitReady(h.url + probePath, server, "haproxy");
  return h;
}

/**
 * The Worker's own socket under a `wrangler dev` tree (past wrangler's proxy on `wranglerPort`): of the
 * workerd that does not listen on wrangler's port, the listening port that answers `path` as `ok` says.
 */
export async function workerSocket(server, wranglerPort, path, ok) {
  // Asked again for a few seconds: once, right after the server answered through its front, no socket
  // of the tree answered yet (front-hops failed at its start).
  for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 250))) {
    const url = await answeringSocket(server, wranglerPort, path, ok);
    if (url || Date.now() > deadline) return url;
  }
}

async function answeringSocket(server, wranglerPort, path, ok) {
  for (const p of processTree(server.pid)) {
    if (!p.comm.startsWith("workerd")) continue;
    const ports = listeningPorts(p.pid);
    if (ports.includes(wranglerPort)) continue;
    for (const port of ports) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
        if (ok(r, await r.text())) return `http://127.0.0.1:${port}`;
      } catch {}
    }
  }
  return undefined;
}

/**
 * The GC benchmark's seeder (bench/gc-seed: Wharf's storage modules writing straight into R2) under
 * `wrangler dev` on `dataDir`, the folder Wharf is started on afterwards. Its stop() keeps the folder.
 */
export function startGcSeeder(root, dataDir) {
  return retryPortClash(() => startGcSeederOnce(root, dataDir));
}

async function startGcSeederOnce(root, dataDir) {
  const port = await freePort();
  const inspector = await freePort();
  const seedDir = join(root, "bench", "gc-seed");
  const server = startGroup(
    join(root, "node_modules", ".bin", "wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", dataDir, "--inspector-port", String(inspector),
      "--show-interactive-dev-session=false", "--log-level", "warn", "--config", join(seedDir, "wrangler.toml")],
    { cwd: seedDir, env: { ...process.env, ...WRANGLER_ENV, ...privateRegistry(dataDir) } },
  );
  const h = { ...serverHandle("gc-seed", "floor", port, server, dataDir), stop: () => server.stop() };
  await waitReady(`${h.url}/ping`, server, "gc seeder");
  return h;
}

/** Which group a process of a server's tree counts in for memory (see procs.sampleRss). */
export function memoryGroup(server) {
  return (p) => {
    if (p.pid === server.pid) return { wharf: "front", distribution: "registry", floor: "wrangler" }[server.kind];
    if (p.comm.startsWith("workerd")) return "workerd";
    if (p.comm === "node" || p.comm.startsWith("MainThread")) return "wrangler";
    return null; // esbuild and the like
  };
}

/** CPU seconds so far of each process group of a server's tree (grouped as memoryGroup says). */
export function serverCpu(server) {
  return cpuByGroup([server.pid], memoryGroup(server));
}
