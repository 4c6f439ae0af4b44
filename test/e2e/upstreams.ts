/**
 * Upstream registries for the pull-through cache's end-to-end tests, each on a free loopback port and
 * stopped (its whole process group) at the end:
 * - CNCF distribution (`docker-registry`), plain or with htpasswd Basic auth, with its access log read
 *   back, so tests count the requests Wharf made from the upstream's own log;
 * - a lying registry (a tiny Node server) that serves manifests and blobs whose bytes do not match their
 *   digests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { freePort } from "./harness";
import { stopGroup } from "./process-group";

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

export interface LoggedRegistry {
  host: string;
  url: string;
  /**
   * Requests in the upstream's access log since the last `clear()`. distribution writes a request's
   * line only after answering it, so a client can be done before the line is: this first sends a
   * marker request and waits for its line, which comes after those of every request answered before.
   */
  requests(): Promise<LoggedRequest[]>;
  /** Requests for content (manifests, blobs, tags) as "METHOD path" (after the same wait). */
  contentRequests(): Promise<string[]>;
  clear(): void;
  stop(): Promise<void>;
}

const groups = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of groups) if (p.pid && p.exitCode === null) try { process.kill(-p.pid, "SIGKILL"); } catch {}
});

/** distribution with filesystem storage in `dir`; `htpasswd` adds Basic auth for that user. */
export async function startLoggedDistribution(dir: string, htpasswd?: { user: string; password: string }): Promise<LoggedRegistry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const lines = [
    "version: 0.1",
    "log: { level: error }",
    `storage: { filesystem: { rootdirectory: ${join(dir, "data")} }, delete: { enabled: true } }`,
    `http: { addr: 127.0.0.1:${port} }`,
  ];
  if (htpasswd) {
    writeFileSync(join(dir, "htpasswd"), `${htpasswd.user}:${bcrypt.hashSync(htpasswd.password, 5)}\n`);
    lines.push(`auth: { htpasswd: { realm: wharf-test, path: ${join(dir, "htpasswd")} } }`);
  }
  writeFileSync(join(dir, "config.yml"), lines.join("\n"));
  const proc = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  groups.add(proc);
  let log: LoggedRequest[] = [];
  let buffered = "";
  const onData = (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    for (const line of parts) {
      const m = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d+)/.exec(line);
      if (m) log.push({ method: m[1], path: m[2], status: Number(m[3]) });
    }
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 200 || r.status === 401) break;
    } catch {}
    if (i > 100) throw new Error("docker-registry did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  log = [];
  let markers = 0;
  const MARKER = "/v2/?wharf-test-marker=";
  const settled = async (): Promise<LoggedRequest[]> => {
    const marker = `${MARKER}${++markers}`;
    await (await fetch(url + marker)).arrayBuffer();
    for (let waited = 0; !log.some((r) => r.path === marker); waited += 20) {
      if (waited > 10_000) throw new Error(`docker-registry did not log ${marker} within 10 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return log.filter((r) => !r.path.startsWith(MARKER));
  };
  return {
    host: `127.0.0.1:${port}`,
    url,
    requests: settled,
    contentRequests: async () => (await settled()).filter((r) => /^\/v2\/.+\/(manifests|blobs|tags)\//.test(r.path)).map((r) => `${r.method} ${r.path}`),
    clear: () => {
      log = [];
    },
    stop: async () => {
      // distribution can linger on the connections a registry under test keeps alive: not past 5 s.
      await stopGroup(proc, 5000);
      groups.delete(proc);
    },
  };
}

export interface LyingRegistry {
  host: string;
  url: string;
  /** A tagged image whose layer bytes are not what the manifest's digest says. */
  image: { repo: string; tag: string; manifestDigest: string; layerDigest: string };
  /** A tag whose manifest comes with a Docker-Content-Digest that is not its own. */
  badManifestTag: string;
  stop(): Promise<void>;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A registry that lies: the digests it names do not match the bytes it sends. */
export async function startLyingRegistry(): Promise<LyingRegistry> {
  const repo = "liar/app";
  const layer = Buffer.alloc(300_000, 7);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
  }));
  const wrongLayer = Buffer.alloc(layer.length, 8); // same size, other bytes
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const send = (status: number, body: Buffer | string, headers: Record<string, string> = {}) => {
      const b = typeof body === "string" ? Buffer.from(body) : body;
      res.writeHead(status, { "Content-Length": String(b.length), ...headers });
      res.end(req.method === "HEAD" ? undefined : b);
    };
    if (path === "/v2/") return send(200, "{}", { "Content-Type": "application/json" });
    if (path === `/v2/${repo}/manifests/v1` || path === `/v2/${repo}/manifests/${sha256(manifest)}`) {
      return send(200, manifest, { "Content-Type": "application/vnd.oci.image.manifest.v1+json", "Docker-Content-Digest": sha256(manifest) });
    }
    if (path === `/v2/${repo}/manifests/bad`) {
      return send(200, manifest, { "Content-Type": "application/vnd.oci.image.manifest.v1+json", "Docker-Content-Digest": sha256("something else") });
    }
    if (path === `/v2/${repo}/blobs/${sha256(config)}`) return send(200, config, { "Docker-Content-Digest": sha256(config) });
    if (path === `/v2/${repo}/blobs/${sha256(layer)}`) return send(200, wrongLayer, { "Docker-Content-Digest": sha256(layer) });
    send(404, JSON.stringify({ errors: [{ code: "NOT_FOUND", message: "nothing here" }] }), { "Content-Type": "application/json" });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    image: { repo, tag: "v1", manifestDigest: sha256(manifest), layerDigest: sha256(layer) },
    badManifestTag: "bad",
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections(); // the registry under test keeps connections alive; close would wait for them
      }),
  };
}
