#!/usr/bin/env node
// `npm start`: run Wharf locally under `wrangler dev` on 127.0.0.1, with R2 and Durable Objects persisted
// on disk in $WHARF_DATA (default ./.wharf-data). PORT (default 8787) picks the port. Every setting of
// the Worker's settings schema (src/worker/settings.ts) is passed through from the environment, and
// checked before wrangler starts: a malformed value stops here with the message that names it.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { importTs } from "./lib/import-ts.mjs";
import { frontServer } from "./lib/front.mjs";
import { freePort } from "./lib/net.mjs";
import { workerPortPatched } from "./lib/wrangler-patches.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { SETTING_NAMES, parseSettings } = await importTs("src/worker/settings.ts");

const port = Number(process.env.PORT || 8787);
const data = resolve(process.env.WHARF_DATA || join(root, ".wharf-data"));
mkdirSync(data, { recursive: true });

// Secrets made once per data folder, so signed URLs and tokens stay valid across restarts.
function secretIn(name) {
  const file = join(data, name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}
const vars = { BLOB_URL_SECRET: process.env.BLOB_URL_SECRET || secretIn("blob-url-secret") };
for (const k of SETTING_NAMES) if (process.env[k] !== undefined) vars[k] = process.env[k];

// Settings wrangler itself reads from .dev.vars (or .env), so that a value set there is not overridden
// by the defaults below (--var wins over .dev.vars) and the startup line tells the truth.
function varsIn(file) {
  if (!existsSync(file)) return {};
  const out = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}
const devVars = { ...varsIn(join(root, ".env")), ...varsIn(join(root, ".dev.vars")) };
const valueOf = (k) => vars[k] ?? devVars[k];
const isSet = (k) => valueOf(k) !== undefined;

// Authentication. Tokens are signed with AUTH_SIGNING_SECRET (made per data folder unless given; mint
// CI tokens with AUTH_SIGNING_SECRET=$(cat $WHARF_DATA/auth-signing-secret) node scripts/token.mjs ...).
// With no AUTH_CONFIG and no AUTH_ANONYMOUS_PUSH anywhere, the local default lets anyone push — the
// deployed Worker's default refuses pushes — and says so loudly.
if (!isSet("AUTH_SIGNING_SECRET")) vars.AUTH_SIGNING_SECRET = secretIn("auth-signing-secret");
let authMode;
if (!isSet("AUTH_CONFIG") && !isSet("AUTH_ANONYMOUS_PUSH")) {
  vars.AUTH_ANONYMOUS_PUSH = "true";
  authMode = "WARNING: no AUTH_CONFIG: ANYONE may push, pull and delete (local default, AUTH_ANONYMOUS_PUSH=true; set AUTH_CONFIG or AUTH_ANONYMOUS_PUSH=false to turn it off)";
} else if (isSet("AUTH_CONFIG")) {
  authMode = `authentication on: users and rules from AUTH_CONFIG${valueOf("AUTH_ANONYMOUS_PUSH") === "true" ? ", and AUTH_ANONYMOUS_PUSH=true lets ANYONE push" : ""}`;
} else {
  authMode = valueOf("AUTH_ANONYMOUS_PUSH") === "true" ? "WARNING: AUTH_ANONYMOUS_PUSH=true: ANYONE may push, pull and delete" : "no AUTH_CONFIG: anyone may pull, nobody may push (CI tokens signed with AUTH_SIGNING_SECRET may)";
}

try {
  parseSettings({ ...devVars, ...vars });
} catch (e) {
  console.error(`wharf: ${e.message}`);
  process.exit(1);
}

// wrangler listens on an internal port; the front below owns PORT and pipes connections through
// untouched, after looking at their first bytes (firstBytes in scripts/lib/front.mjs):
// - a TLS ClientHello (clients that try HTTPS first: docker, skopeo, containerd, crane, podman) is
//   answered as Go's HTTP server answers it, "HTTP/1.0 400 Bad Request", then closed. Go clients turn
//   that into "server gave HTTP response to HTTPS client" and fall back to plain HTTP at once (docker
//   only falls back on that error; a dropped connection is EOF, and workerd never answers TLS at all);
// - an absolute-form request target ("PUT http://host:port/v2/... HTTP/1.1", what clients send to a
//   proxy) is answered 400 and closed: workerd answers it with a plain-text 500. Rewriting it to origin
//   form would fix only the first request of a connection (the front does not parse HTTP, and workerd
//   keeps connections open despite "Connection: close"), so later requests on it would still get a 500.
//
// Where connections go: straight to the Worker's own workerd socket, past wrangler dev's proxy.
// wrangler's port is a ProxyWorker (a Durable Object in a second workerd) that fetch()es every request
// on to the Worker's workerd: 1.5-3 ms of CPU per request in that workerd, against 1-4 ms in the Worker
// itself and 0.1-0.6 ms in this front (README, "Benchmark", issue 17 item 4).
// wrangler (patched by scripts/patch-simulator.mjs, WHARF_WORKER_EVENTS=1) says over its IPC channel
// where the Worker listens after each (re)load, and when a reload begins; each reload stops the old
// workerd and starts a new one, on the same port (WHARF_WORKER_PORT, patched too; a random one each time
// without the patch). So:
// - new connections go to the Worker that wrangler last reported ready, and to wrangler's port from the
//   start of a reload until the new Worker is ready (wrangler's proxy holds them until then, as it
//   always did), or whenever the Worker's socket refuses a connection;
// - a connection stays with the workerd it was opened to: when a reload stops that workerd, its
//   connections close, and a request in flight on one of them sees the connection close without an
//   answer (through wrangler's proxy it got a 503, or a retry for GET and HEAD). Only edits under src/
//   reload the Worker (the benchmark and the tests run on copies nothing edits);
// - the Worker sees the same URL and Host either way (the client's Host header), so Link, Location,
//   auth realms and the UI's addresses do not change.
// Without the patch (an upgraded wrangler) nothing is reported and every connection goes through
// wrangler's port, as before.
let internalPort = await freePort();
let workerPort = null;
await frontServer(port, () => (workerPort ? [workerPort, internalPort] : [internalPort]));

console.log(`wharf: serving http://127.0.0.1:${port}/v2/ with state in ${data}`);
console.log(`wharf: ${authMode}`);

// A free port is only free when we looked: another process can take it before wrangler binds it
// (tests running side by side open many connections). wrangler then exits at once with "Address
// already in use"; start it again on fresh ports, a few times, before giving up.
const STARTS = 3;
const ownBlobOrigin = !isSet("BLOB_URL_ORIGIN");
const fixedWorkerPort = workerPortPatched(root);
let child;
function startWrangler(attempt) {
  return (async () => {
    if (attempt > 1) internalPort = await freePort();
    const args = [
      "dev", "--ip", "127.0.0.1", "--port", String(internalPort), "--persist-to", data,
      "--inspector-port", String(await freePort()), "--show-interactive-dev-session=false", "--log-level", process.env.WHARF_LOG_LEVEL || "info",
    ];
    // Signed blob URLs point straight at the Worker's own socket (the port the patched wrangler binds
    // it to, WHARF_WORKER_PORT): blob bytes (pulls) pass neither wrangler's proxy nor this front. Not
    // at wrangler's port: through its proxy, some of ten concurrent GETs there were never answered
    // (scripts/patch-simulator.mjs). Unpatched, they go to this front (unset: the request's origin).
    const workerSocketPort = await freePort();
    if (ownBlobOrigin && fixedWorkerPort) vars.BLOB_URL_ORIGIN = `http://127.0.0.1:${workerSocketPort}`;
    for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
    console.log(`wharf: wrangler dev listens on 127.0.0.1:${internalPort} behind this front`);
    workerPort = null;
    child = spawn(join(root, "node_modules", ".bin", "wrangler"), args, {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WHARF_WORKER_EVENTS: "1", WHARF_WORKER_PORT: String(workerSocketPort) },
    });
    child.on("message", (m) => {
      let e;
      try { e = typeof m === "string" ? JSON.parse(m) : m; } catch { return; }
      if (e?.event !== "WHARF_WORKER") return;
      if (e.state === "reloading") {
        workerPort = null;
      } else if (e.state === "ready" && e.protocol === "http:" && e.hostname === "127.0.0.1" && Number.isInteger(e.port) && e.port > 0) {
        workerPort = e.port;
        console.log(`wharf: the front connects straight to the Worker on 127.0.0.1:${e.port}`);
      }
    });
    let ready = false;
    let early = "";
    const watch = (out) => (chunk) => {
      out.write(chunk);
      if (ready) return;
      early = (early + chunk).slice(-65536);
      if (/Ready on /.test(early)) ready = true;
    };
    child.stdout.on("data", watch(process.stdout));
    child.stderr.on("data", watch(process.stderr));
    child.on("exit", (code, signal) => {
      if (!ready && attempt < STARTS && /Address already in use/.test(early)) {
        console.error(`wharf: port taken before wrangler could bind it; starting again (${attempt + 1}/${STARTS})`);
        startWrangler(attempt + 1);
        return;
      }
      process.exit(code ?? (signal ? 1 : 0));
    });
  })();
}
await startWrangler(1);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
