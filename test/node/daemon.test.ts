// wharf daemon's pieces that need no Docker: options and the listener safety rule, version negotiation,
// X-Registry-Auth, local names, and the listeners themselves (concurrency limit, write timeout, graceful
// shutdown, mutual TLS with certificates made by openssl).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { negotiate, splitVersion } from "../../src/node/daemon/api-version";
import { startListeners, type App } from "../../src/node/daemon/listeners";
import { parseDaemonOptions, parseDuration, type DaemonOptions } from "../../src/node/daemon/options";
import { formatLocal, parseLocalName, registryRef } from "../../src/node/daemon/refs";
import { credentialsOf, decodeRegistryAuth } from "../../src/node/daemon/registry-auth";

const dir = mkdtempSync(join(tmpdir(), "wharf-daemon-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fakeRead = () => Buffer.from("x");

describe("options", () => {
  it("takes repeatable -H, one mode, durations and limits", () => {
    const o = parseDaemonOptions(["-H", "unix:///tmp/a.sock", "-H", "tcp://127.0.0.1:2375", "--data-root", "/d", "--write-timeout", "5m", "--max-concurrent-requests", "8"]) as DaemonOptions;
    expect(o.listeners.map((l) => l.kind)).toEqual(["unix", "tcp"]);
    expect(o.mode).toEqual({ kind: "store", dataRoot: "/d" });
    expect(o.writeTimeoutMs).toBe(300_000);
    expect(o.shutdownTimeoutMs).toBe(15_000);
    expect(o.maxConcurrentRequests).toBe(8);
    expect(parseDuration("500ms", "x")).toBe(500);
    expect(parseDuration("2", "x")).toBe(2000);
    expect(() => parseDuration("soon", "x")).toThrow(/bad duration/);
  });

  it("needs a listener and exactly one of --forward and --data-root", () => {
    expect(() => parseDaemonOptions(["--data-root", "/d"])).toThrow(/-H/);
    expect(() => parseDaemonOptions(["-H", "unix:///tmp/a.sock"])).toThrow(/choose one mode/);
    expect(() => parseDaemonOptions(["-H", "unix:///tmp/a.sock", "--data-root", "/d", "--forward", "unix:///x"])).toThrow(/choose one mode/);
    expect(() => parseDaemonOptions(["-H", "fd://", "--data-root", "/d"])).toThrow(/expected unix/);
  });

  it("refuses a TCP listener off loopback unless client certificates are verified", () => {
    const base = ["--forward", "unix:///var/run/docker.sock"];
    expect(() => parseDaemonOptions(["-H", "tcp://0.0.0.0:2375", ...base], fakeRead)).toThrow(/off loopback without --tlsverify/);
    expect(() => parseDaemonOptions(["-H", "tcp://192.168.1.5:2376", "--tlscert", "c", "--tlskey", "k", ...base], fakeRead)).toThrow(/off loopback without --tlsverify/);
    expect(() => parseDaemonOptions(["-H", "tcp://0.0.0.0:2376", "--tlsverify", "--tlscert", "c", "--tlskey", "k", ...base], fakeRead)).toThrow(/--tlscacert/);
    const ok = parseDaemonOptions(["-H", "tcp://0.0.0.0:2376", "--tlsverify", "--tlscacert", "ca", "--tlscert", "c", "--tlskey", "k", ...base], fakeRead) as DaemonOptions;
    expect(ok.tls?.verify).toBe(true);
    expect(() => parseDaemonOptions(["-H", "tcp://127.0.0.1:2375", "--tlscert", "c", ...base], fakeRead)).toThrow(/--tlskey/);
  });
});

describe("API version negotiation", () => {
  it("splits the /v1.xx prefix and refuses versions outside 1.24-1.43", () => {
    expect(splitVersion("/v1.50/images/json")).toEqual({ version: "1.50", path: "/images/json" });
    expect(negotiate("/_ping")).toEqual({ version: "1.43", path: "/_ping" });
    expect(negotiate("/v1.41/images/json").path).toBe("/images/json");
    expect(() => negotiate("/v1.50/images/json")).toThrow(/too new. Maximum supported API version is 1.43/);
    expect(() => negotiate("/v1.12/images/json")).toThrow(/too old/);
  });
});

describe("X-Registry-Auth and names", () => {
  it("decodes base64url JSON credentials; garbage is anonymous", () => {
    const h = Buffer.from(JSON.stringify({ username: "alice", password: "p+/=?", serveraddress: "r:5000" })).toString("base64url");
    expect(credentialsOf(decodeRegistryAuth(h))).toEqual({ username: "alice", password: "p+/=?" });
    expect(decodeRegistryAuth("%%%")).toEqual({});
    expect(credentialsOf(decodeRegistryAuth(undefined))).toBeUndefined();
  });

  it("keeps local names as given and needs a registry host to push or pull", () => {
    expect(formatLocal(parseLocalName("app"))).toBe("app:latest");
    expect(formatLocal(parseLocalName("127.0.0.1:8787/a/b:1"))).toBe("127.0.0.1:8787/a/b:1");
    expect(() => parseLocalName("App:1")).toThrow(/invalid reference format/);
    expect(registryRef(parseLocalName("127.0.0.1:8787/a/b:1"))).toMatchObject({ host: "127.0.0.1:8787", repository: "a/b", tag: "1" });
    expect(() => registryRef(parseLocalName("a/b:1"))).toThrow(/no default registry/);
  });
});

function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ socketPath, path }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on("error", reject);
    r.end();
  });
}

function options(over: Partial<DaemonOptions>): DaemonOptions {
  return {
    listeners: [], mode: { kind: "store", dataRoot: dir }, tls: null, readTimeoutMs: 0, writeTimeoutMs: 0,
    shutdownTimeoutMs: 5000, maxConcurrentRequests: 256, insecureRegistries: [], ...over,
  };
}

describe("listeners", () => {
  it("answer 503 past --max-concurrent-requests, finish requests in flight on shutdown, remove the socket", async () => {
    const sock = join(dir, "a.sock");
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const app: App = {
      async request(req, res) {
        if (req.url === "/slow") await held;
        res.end("done");
      },
      upgrade: (_req, s) => s.destroy(),
    };
    const running = await startListeners(options({ listeners: [{ kind: "unix", path: sock, address: `unix://${sock}` }], maxConcurrentRequests: 1 }), app);
    const slow = get(sock, "/slow");
    await new Promise((r) => setTimeout(r, 100));
    const refused = await get(sock, "/fast");
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).message).toMatch(/--max-concurrent-requests/);
    const stopping = running.shutdown();
    await new Promise((r) => setTimeout(r, 100));
    release();
    expect(await slow).toEqual({ status: 200, body: "done" });
    await stopping;
    expect(existsSync(sock)).toBe(false);
  });

  it("cut a response that outlives --write-timeout", async () => {
    const sock = join(dir, "b.sock");
    const app: App = { request: () => new Promise(() => {}), upgrade: (_r, s) => s.destroy() };
    const running = await startListeners(options({ listeners: [{ kind: "unix", path: sock, address: `unix://${sock}` }], writeTimeoutMs: 200, shutdownTimeoutMs: 100 }), app);
    await expect(get(sock, "/hang")).rejects.toThrow(/socket hang up|ECONNRESET/);
    await running.shutdown();
  });

  it("serve mutual TLS: a client with a certificate from --tlscacert gets in, one without does not", async () => {
    const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    o(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=wharf test ca"]);
    writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
    for (const who of ["server", "client"]) {
      o(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`]);
      o(["x509", "-req", "-in", `${who}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${who}.pem`, "-days", "1", ...(who === "server" ? ["-extfile", "san.ext"] : [])]);
    }
    const f = (n: string) => readFileSync(join(dir, n));
    const parsed = parseDaemonOptions(["-H", "tcp://127.0.0.1:0", "--data-root", dir, "--tlsverify", "--tlscacert", join(dir, "ca.pem"), "--tlscert", join(dir, "server.pem"), "--tlskey", join(dir, "server.key")]) as DaemonOptions;
    const app: App = { request: async (_q, res) => void res.end("tls ok"), upgrade: (_r, s) => s.destroy() };
    const running = await startListeners(parsed, app);
    const port = Number(running.addresses[0].split(":").pop());
    const call = (cert?: { cert: Buffer; key: Buffer }) => new Promise<string>((resolve, reject) => {
      const r = httpsRequest({ host: "127.0.0.1", port, path: "/_ping", ca: f("ca.pem"), ...cert }, (res) => {
        let b = "";
        res.on("data", (d) => (b += d));
        res.on("end", () => resolve(b));
      });
      r.on("error", reject);
      r.end();
    });
    expect(await call({ cert: f("client.pem"), key: f("client.key") })).toBe("tls ok");
    await expect(call()).rejects.toThrow();
    await running.shutdown();
  });
});
