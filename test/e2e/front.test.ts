// npm start's path: the TCP front (scripts/start.mjs) sends connections straight to the Worker's own
// workerd socket, past wrangler dev's proxy, and follows the Worker to its new socket when wrangler
// reloads it. Runs a copy of the checkout, so that the test can edit a source file to make wrangler reload.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
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

const workerPorts = () => [...wharf.log().matchAll(/the front connects straight to the Worker on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
const wranglerPort = () => Number(/wrangler dev listens on 127\.0\.0\.1:(\d+)/.exec(wharf.log())?.[1]);
const settle = () => new Promise((r) => setTimeout(r, 500)); // wrangler prints a request line once the response is out

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
  it("sends requests straight to the Worker's own socket: wrangler's proxy, which logs every request it carries, never sees them", async () => {
    expect(workerPorts().length).toBeGreaterThan(0);
    const worker = workerPorts().at(-1)!;
    expect(worker).not.toBe(wranglerPort());
    const through = await freshGet(wharf.port, "/v2/front-probe-front/tags/list");
    expect(through.status).toBe(404);
    expect(JSON.parse(through.body).errors[0].code).toBe("NAME_UNKNOWN");
    // The same request at wrangler's own port goes through its proxy, and wrangler logs it: the check
    // below can see a request that took that path.
    expect((await freshGet(wranglerPort(), "/v2/front-probe-wrangler/tags/list")).status).toBe(404);
    await settle();
    expect(wharf.log()).toMatch(/GET \/v2\/front-probe-wrangler\/tags\/list 404/);
    expect(wharf.log()).not.toContain("front-probe-front");
  });

  it("leaves the Host the client sent for the Worker to see (addresses it writes into pages and challenges)", async () => {
    const page = await freshGet(wharf.port, "/getting-started");
    expect(page.status).toBe(200);
    expect(page.body).toContain(`docker login 127.0.0.1:${wharf.port} `);
    const named = await freshGet(wharf.port, "/getting-started", "registry.example:5000");
    expect(named.body).toContain("docker login registry.example:5000 ");
  });

  it("follows the Worker to its new socket when wrangler reloads it: new connections reach the new Worker, the old socket is gone", async () => {
    const before = workerPorts();
    const old = before.at(-1)!;
    const router = join(copy, "src", "worker", "router.ts");
    writeFileSync(router, `${readFileSync(router, "utf8")}\n// edited by test/e2e/front.test.ts: wrangler reloads the Worker\n`);
    const deadline = Date.now() + 90_000;
    while (workerPorts().length === before.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const now = workerPorts();
    expect(now.length, `no reload reported:\n${wharf.log().slice(-3000)}`).toBeGreaterThan(before.length);
    expect(now.at(-1)).not.toBe(old);
    expect(await accepts(old)).toBe(false);
    const after = await freshGet(wharf.port, "/v2/front-probe-reloaded/tags/list");
    expect(after.status).toBe(404);
    expect((await freshGet(wharf.port, "/v2/")).status).toBe(200);
    await settle();
    expect(wharf.log()).not.toContain("front-probe-reloaded");
  }, 120_000);
});
