/**
 * Auth end to end: the real server (npm start) with AUTH_CONFIG, driven by skopeo through Docker's token
 * flow with --creds, with a CI token minted by scripts/token.mjs as the password, and anonymously.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWharf, type Wharf } from "./harness";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "..", "..");
const SECRET = "e2e-auth-signing-secret-0123456789abcdef";
const work = mkdtempSync(join(tmpdir(), "wharf-auth-e2e-"));
const authFile = join(work, "auth.json");
writeFileSync(authFile, "{}");

async function skopeo(...args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run("skopeo", args, { env: { ...process.env, REGISTRY_AUTH_FILE: authFile }, timeout: 120_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A one-layer OCI image layout on disk, different per seed; returns its path and manifest digest. */
function ociLayout(seed: string): { dir: string; digest: string } {
  const dir = join(work, `layout-${seed}`);
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const put = (b: Buffer) => {
    writeFileSync(join(dir, "blobs", "sha256", sha(b)), b);
    return { digest: `sha256:${sha(b)}`, size: b.length };
  };
  const layer = put(gzipSync(Buffer.from(`layer ${seed} `.repeat(1000))));
  const config = put(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, seed })));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  }));
  const m = put(manifest);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": "latest" } }],
  }));
  return { dir, digest: m.digest };
}

async function hash(password: string): Promise<string> {
  const r = await run("sh", ["-c", `printf %s '${password}' | node scripts/hash-password.mjs --iterations 1000`], { cwd: ROOT });
  return r.stdout.trim();
}

let wharf: Wharf;
const push = (layout: string, ref: string, creds?: string) =>
  skopeo("copy", "--dest-tls-verify=false", ...(creds ? ["--dest-creds", creds] : []), `oci:${layout}:latest`, `docker://${wharf.host}/${ref}`);
const pull = (ref: string, creds?: string) =>
  skopeo("inspect", "--raw", "--tls-verify=false", ...(creds ? ["--creds", creds] : []), `docker://${wharf.host}/${ref}`);

describe("skopeo against a registry with users", () => {
  beforeAll(async () => {
    const config = {
      users: { alice: await hash("alice-secret"), admin: await hash("admin-secret") },
      rules: [
        { users: ["anonymous"], repositories: ["public/*"], actions: ["pull"] },
        { users: ["alice"], repositories: ["team/*"], actions: ["pull", "push"] },
        { users: ["admin"], repositories: ["*"], actions: ["*", "catalog"] },
      ],
    };
    // Level "log": wrangler prints the Worker's console.log, its JSON line per request (requests go
    // past wrangler's own proxy, so wrangler writes no request lines of its own).
    wharf = await startWharf({ AUTH_CONFIG: JSON.stringify(config), AUTH_SIGNING_SECRET: SECRET, WHARF_LOG_LEVEL: "log" });
  });
  afterAll(async () => {
    await wharf?.stop();
  });

  it("says at start that authentication is on", () => {
    expect(wharf.log()).toContain("authentication on");
    expect(wharf.log()).not.toContain("ANYONE may push");
  });

  it("pushes and pulls with --creds through the token flow; the same without credentials is refused", async () => {
    const img = ociLayout("team");
    const anon = await push(img.dir, "team/app:1");
    expect(anon.ok).toBe(false);
    expect(anon.out).toMatch(/unauthorized|authentication required|denied/i);
    const logBefore = wharf.log().length;
    const pushed = await push(img.dir, "team/app:1", "alice:alice-secret");
    expect(pushed.out).toBe(pushed.ok ? pushed.out : "push should have worked");
    // the Bearer challenge sent skopeo to the token endpoint (the Worker logs every request)
    expect(wharf.log().slice(logBefore)).toMatch(/"method":"GET","path":"\/v2\/token","status":200/);
    const raw = await pull("team/app:1", "alice:alice-secret");
    expect(raw.ok).toBe(true);
    expect(`sha256:${sha(Buffer.from(raw.out))}`).toBe(img.digest);
    const out = join(work, "pulled");
    const copied = await skopeo("copy", "--src-tls-verify=false", "--src-creds", "alice:alice-secret", `docker://${wharf.host}/team/app:1`, `oci:${out}:1`);
    expect(copied.ok).toBe(true);
    const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8"));
    expect(index.manifests[0].digest).toBe(img.digest);
    expect((await pull("team/app:1")).ok).toBe(false);
    expect((await pull("team/app:1", "alice:wrong")).ok).toBe(false);
    expect((await pull("team/app:1", "nobody:alice-secret")).ok).toBe(false);
  });

  it("a user outside the rules cannot push, and anonymous pulls work where a rule allows", async () => {
    const img = ociLayout("public");
    expect((await push(img.dir, "public/tool:1", "alice:alice-secret")).ok).toBe(false);
    const pushed = await push(img.dir, "public/tool:1", "admin:admin-secret");
    expect(pushed.out).toBe(pushed.ok ? pushed.out : "push should have worked");
    const anon = await pull("public/tool:1");
    expect(anon.ok).toBe(true);
    expect(`sha256:${sha(Buffer.from(anon.out))}`).toBe(img.digest);
    expect((await push(ociLayout("public2").dir, "public/tool:2")).ok).toBe(false);
  });

  it("a CI token from scripts/token.mjs works as the password within its patterns", async () => {
    const minted = await run("node", ["scripts/token.mjs", "create", "--repo", "ci/*", "--actions", "pull,push", "--ttl", "1h", "--json"], {
      cwd: ROOT,
      env: { ...process.env, AUTH_SIGNING_SECRET: SECRET },
    });
    const { token } = JSON.parse(minted.stdout) as { token: string; id: string };
    const img = ociLayout("ci");
    const pushed = await push(img.dir, "ci/build/app:7", `ci:${token}`);
    expect(pushed.out).toBe(pushed.ok ? pushed.out : "push should have worked");
    const raw = await pull("ci/build/app:7", `ci:${token}`);
    expect(`sha256:${sha(Buffer.from(raw.out))}`).toBe(img.digest);
    expect((await push(img.dir, "team/app:ci", `ci:${token}`)).ok).toBe(false);
    expect((await pull("ci/build/app:7")).ok).toBe(false);
  });
});

describe("npm start with no auth settings", () => {
  let open: Wharf;
  beforeAll(async () => {
    open = await startWharf();
  });
  afterAll(async () => {
    await open?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("lets anyone push (the local default) and says so when it starts", async () => {
    expect(open.log()).toMatch(/WARNING: no AUTH_CONFIG: ANYONE may push/);
    const img = ociLayout("open");
    const r = await skopeo("copy", "--dest-tls-verify=false", `oci:${img.dir}:latest`, `docker://${open.host}/anyone/app:1`);
    expect(r.out).toBe(r.ok ? r.out : "anonymous push should work on the local default");
  });
});
