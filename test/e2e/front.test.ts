// npm start's path: the TCP front (scripts/start.mjs) sends connections straight to the Worker's own
// workerd socket, past wrangler dev's proxy, signed blob URLs point there too, and the Worker keeps
// that port when wrangler reloads it. Runs a copy of the checkout, so that the test can edit a source file to make wrangler reload.
// Where the front's connections go is read from /proc (the ports its established sockets connect to).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startWharf, type Wharf } from "./harness";

const ROOT = resolve(__dirname, "..", "..");
const copy = mkdtempSync(join(tmpdir(), "wharf-front-e2e-"));
let wharf: Wharf;

/** One GET on a new connection, read to the end of the response (Content-Length); status and body. */
function freshGet(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const s = connect({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { s.destroy(); rej(new Error(`GET ${path} on :${port}: no answer in 30 s`)); }, 30_000);
    s.on("connect", () => s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
      if (Number.isNaN(len) || buf.length < end + 4 + len) return;
      clearTimeout(timer);
      s.destroy();
      res({ status: Number(head.slice(9, 12)), body: buf.subarray(end + 4, end + 4 + len).toString("utf8") });
    });
    s.on("error", (e) => { clearTimeout(timer); rej(e); });
  });
}

/** Whether anything accepts a TCP connection on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: "127.0.0.1", port });
    s.on("connect", () => { s.destroy(); res(true); });
    s.on("error", () => res(false));
  });
}

/** The remote ports of a process's established TCP connections (its socket fds in /proc/net/tcp). */
function connectedPorts(pid: number): number[] {
  const remote = new Map<string, number>(); // socket inode -> remote port
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const c = line.trim().split(/\s+/);
    if (c.length > 9 && c[3] === "01") remote.set(c[9], parseInt(c[2].split(":")[1], 16));
  }
  const ports: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link = "";
    try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode && remote.has(inode)) ports.push(remote.get(inode)!);
  }
  return ports;
}

/** A keep-alive connection to the front that has had one answer; the caller destroys it. */
function heldConnection(port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect({ host: "127.0.0.1", port });
    s.on("connect", () => s.write(`GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    s.once("data", () => res(s));
    s.on("error", rej);
  });
}

/**
 * Where the front sends a new connection: the upstream port of a connection held open, found as the
 * established sockets of the front that came with it, less the accepted one (whose peer is our socket).
 */
async function upstreamPorts(): Promise<number[]> {
  const before = connectedPorts(wharf.pid()!);
  const s = await heldConnection(wharf.port);
  try {
    const now = connectedPorts(wharf.pid()!);
    for (const p of before) now.splice(now.indexOf(p), now.includes(p) ? 1 : 0);
    return now.filter((p) => p !== s.localPort);
  } finally {
    s.destroy();
  }
}

/** Push a random 64 KiB blob to `repo` (POST, then PUT ?digest=); its bytes and where its GET redirects. */
async function pushBlob(repo: string): Promise<{ bytes: Buffer; location: string }> {
  const bytes = randomBytes(65536);
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const start = await fetch(`${wharf.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expect(start.status).toBe(202);
  const put = new URL(start.headers.get("Location")!, wharf.url);
  put.searchParams.set("digest", digest);
  expect((await fetch(put, { method: "PUT", body: bytes })).status).toBe(201);
  const get = await fetch(`${wharf.url}/v2/${repo}/blobs/${digest}`, { redirect: "manual" });
  expect(get.status).toBe(307);
  return { bytes, location: get.headers.get("Location")! };
}

const workerPorts = () => [...wharf.log().matchAll(/the front connects straight to the Worker on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
const wranglerPort = () => Number(/wrangler dev listens on 127\.0\.0\.1:(\d+)/.exec(wharf.log())?.[1]);

beforeAll(async () => {
  for (const entry of ["src", "scripts", "bin", "wrangler.toml", "package.json", "tsconfig.json"]) {
    cpSync(join(ROOT, entry), join(copy, entry), { recursive: true, filter: (p) => !p.includes("/.wrangler") });
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
  wharf = await startWharf({}, { root: copy });
}, 120_000);

afterAll(async () => {
  await wharf?.stop();
  rmSync(copy, { recursive: true, force: true });
});

describe("npm start's front", () => {
  it("sends connections straight to the Worker's own socket, not to wrangler's proxy", async () => {
    expect(workerPorts().length).toBeGreaterThan(0);
    const worker = workerPorts().at(-1)!;
    expect(worker).not.toBe(wranglerPort());
    expect(await upstreamPorts()).toEqual([worker]);
    const through = await freshGet(wharf.port, "/v2/front-probe/tags/list");
    expect(through.status).toBe(404);
    expect(JSON.parse(through.body).errors[0].code).toBe("NAME_UNKNOWN");
    // The Worker's socket answers as Wharf: it is the Worker, not some other workerd socket.
    expect((await freshGet(worker, "/v2/")).status).toBe(200);
  });

  it("points signed blob URLs straight at the Worker's socket: blob bytes pass neither the front nor wrangler's proxy", async () => {
    const { location, bytes } = await pushBlob("front-probe/blob");
    const url = new URL(location, wharf.url);
    expect(Number(url.port)).toBe(workerPorts().at(-1));
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("leaves the Host the client sent for the Worker to see (addresses it writes into pages and challenges)", async () => {
    const page = await freshGet(wharf.port, "/getting-started");
    expect(page.status).toBe(200);
    expect(page.body).toContain(`docker login 127.0.0.1:${wharf.port} `);
    const named = await freshGet(wharf.port, "/getting-started", "registry.example:5000");
    expect(named.body).toContain("docker login registry.example:5000 ");
  });

  it("follows the Worker through a reload: the new workerd binds the same port, connections to the old one close, new ones and signed URLs reach the new Worker", async () => {
    const before = workerPorts();
    const old = before.at(-1)!;
    const { location, bytes } = await pushBlob("front-probe/reload");
    const held = await heldConnection(wharf.port);
    const closed = new Promise<void>((r) => held.once("close", () => r()));
    const router = join(copy, "src", "worker", "router.ts");
    writeFileSync(router, `${readFileSync(router, "utf8")}\n// edited by test/e2e/front.test.ts: wrangler reloads the Worker\n`);
    const deadline = Date.now() + 90_000;
    while (workerPorts().length === before.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const now = workerPorts();
    expect(now.length, `no reload reported:\n${wharf.log().slice(-3000)}`).toBeGreaterThan(before.length);
    // WHARF_WORKER_PORT (scripts/patch-simulator.mjs): the same port, a new workerd behind it.
    expect(now.at(-1)).toBe(old);
    await closed;
    expect(await accepts(old)).toBe(true);
    expect(await upstreamPorts()).toEqual([old]);
    expect((await freshGet(wharf.port, "/v2/front-probe-reloaded/tags/list")).status).toBe(404);
    expect((await freshGet(wharf.port, "/v2/")).status).toBe(200);
    // A signed URL handed out before the reload still serves the blob.
    const got = await fetch(new URL(location, wharf.url));
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  }, 120_000);
});
