/**
 * `wharf daemon --data-root`: the unmodified docker CLI against Wharf's own image store (no Docker
 * daemon), with a local Wharf that has authentication on. docker login, pull, images, inspect, history,
 * tag, push, save, rmi and load; digests and layers compared with what skopeo sees in the registry.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImageArchive, busyboxAvailable } from "./docker-images";
import { dockerCli } from "./docker-cli";
import { startWharf, type Wharf } from "./harness";
import { startDaemon, type WharfDaemon } from "./wharf-daemon";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "..", "..");
const work = mkdtempSync(join("/tmp", "wharf-store-e2e-"));
const ALICE = "alice:alice-secret";

let wharf: Wharf;
let daemon: WharfDaemon;
let cli: ReturnType<typeof dockerCli>;
let seed: { ref: string; digest: string; config: string; diffIds: string[]; layers: string[] };

async function skopeo(args: string[]): Promise<string> {
  const r = await run("skopeo", args, { timeout: 60_000, env: { ...process.env, REGISTRY_AUTH_FILE: join(work, "skopeo-auth.json") } });
  return r.stdout;
}

/** What the registry holds for `ref`, as skopeo reads it: manifest digest, config digest, layers, diff_ids. */
async function remote(ref: string) {
  const manifestRaw = await skopeo(["inspect", "--raw", "--tls-verify=false", "--creds", ALICE, `docker://${ref}`]);
  const manifest = JSON.parse(manifestRaw) as { config: { digest: string }; layers: { digest: string }[] };
  const config = JSON.parse(await skopeo(["inspect", "--config", "--raw", "--tls-verify=false", "--creds", ALICE, `docker://${ref}`])) as { rootfs: { diff_ids: string[] } };
  const { createHash } = await import("node:crypto");
  return {
    digest: `sha256:${createHash("sha256").update(manifestRaw).digest("hex")}`,
    config: manifest.config.digest,
    layers: manifest.layers.map((l) => l.digest),
    diffIds: config.rootfs.diff_ids,
  };
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await cli.docker(args, { input });
  expect(r.code, `docker ${args.join(" ")}:\n${r.stdout}${r.stderr}\ndaemon log:\n${daemon.log()}`).toBe(0);
  return r.stdout;
}

async function hash(password: string): Promise<string> {
  const r = await run("sh", ["-c", `printf %s '${password}' | node scripts/hash-password.mjs --iterations 1000`], { cwd: ROOT });
  return r.stdout.trim();
}

beforeAll(async () => {
  if (!busyboxAvailable()) throw new Error("these tests need a static busybox at /bin/busybox: apt-get install busybox-static");
  const config = {
    users: { alice: await hash("alice-secret") },
    rules: [{ users: ["alice"], repositories: ["team/*"], actions: ["pull", "push", "delete"] }],
  };
  [wharf, daemon] = await Promise.all([
    startWharf({ AUTH_CONFIG: JSON.stringify(config), AUTH_SIGNING_SECRET: "e2e-daemon-signing-secret-0123456789abcdef" }),
    startDaemon(["--data-root", join(work, "store")]),
  ]);
  cli = dockerCli(daemon.host);
  // The registry's image, pushed by skopeo from a docker archive: Docker schema 2, gzip layers.
  const archive = await buildImageArchive(join(work, "seed.tar"), "seed:1", { label: "seed" });
  const ref = `${wharf.host}/team/seed:1`;
  await skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", ALICE, `docker-archive:${archive.path}`, `docker://${ref}`]);
  seed = { ref, ...(await remote(ref)) };
  expect(seed.diffIds).toEqual(archive.diffIds);
}, 180_000);

afterAll(async () => {
  await daemon?.stop();
  await wharf?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("docker CLI against wharf daemon's own image store", () => {
  it("login: refused without or with wrong credentials, then Login Succeeded", async () => {
    const anon = await cli.docker(["pull", seed.ref]);
    expect(anon.code).not.toBe(0);
    expect(anon.stderr).toMatch(/UNAUTHORIZED|401/);
    const wrong = await cli.docker(["login", wharf.host, "-u", "alice", "--password-stdin"], { input: "nope\n" });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/login attempt .* failed/);
    expect(await ok(["login", wharf.host, "-u", "alice", "--password-stdin"], "alice-secret\n")).toContain("Login Succeeded");
  });

  it("pull, images, inspect, history: the registry's digests and layers", async () => {
    const pulled = await ok(["pull", seed.ref]);
    expect(pulled).toContain("Pull complete");
    expect(pulled).toContain(`Digest: ${seed.digest}`);
    expect(pulled).toContain(`Status: Downloaded newer image for ${seed.ref}`);
    const listed = await ok(["images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Digest}}"]);
    expect(listed.trim()).toBe(`${wharf.host}/team/seed:1 ${seed.config} ${seed.digest}`);
    const [img] = JSON.parse(await ok(["inspect", seed.ref]));
    expect(img.Id).toBe(seed.config);
    expect(img.RootFS.Layers).toEqual(seed.diffIds);
    expect(img.RepoDigests).toEqual([`${wharf.host}/team/seed@${seed.digest}`]);
    expect(img.Config.Labels).toEqual({ "wharf.test": "seed" });
    expect(await ok(["history", "--format", "{{.CreatedBy}}", seed.ref])).toBe("wharf test layer 0\n");
    // Pulled again: nothing new.
    expect(await ok(["pull", seed.ref])).toContain(`Status: Image is up to date for ${seed.ref}`);
  });

  it("GET /distribution/{name}/json answers the registry's descriptor", async () => {
    const auth = Buffer.from(JSON.stringify({ username: "alice", password: "alice-secret", serveraddress: wharf.host })).toString("base64url");
    const body = await new Promise<string>((res, rej) => {
      const r = request({ socketPath: daemon.socket, path: `/v1.43/distribution/${seed.ref}/json`, headers: { "X-Registry-Auth": auth } }, (m) => {
        let s = "";
        m.on("data", (d) => (s += d));
        m.on("end", () => res(s));
      });
      r.on("error", rej);
      r.end();
    });
    const d = JSON.parse(body);
    expect(d.Descriptor.digest).toBe(seed.digest);
    expect(d.Platforms).toEqual([{ architecture: "amd64", os: "linux" }]);
  });

  it("tag and push: the manifest goes up byte for byte, so the digest is the same", async () => {
    const copy = `${wharf.host}/team/copy:2`;
    await ok(["tag", seed.ref, copy]);
    const pushed = await ok(["push", copy]);
    expect(pushed).toContain(`The push refers to repository [${wharf.host}/team/copy]`);
    expect(pushed).toMatch(/Mounted from team\/seed|Layer already exists/);
    expect(pushed).toContain(`2: digest: ${seed.digest}`);
    expect((await remote(copy)).digest).toBe(seed.digest);
  });

  it("save, rmi, load: the same image ID and layers come back, and push again", async () => {
    const tar = join(work, "saved.tar");
    await ok(["save", "-o", tar, seed.ref]);
    // skopeo reads the saved archive as the same image: same diff_ids.
    const saved = JSON.parse(await skopeo(["inspect", "--config", "--raw", `docker-archive:${tar}`])) as { rootfs: { diff_ids: string[] } };
    expect(saved.rootfs.diff_ids).toEqual(seed.diffIds);
    const removed = await ok(["rmi", seed.ref, `${wharf.host}/team/copy:2`]);
    expect(removed).toContain(`Untagged: ${seed.ref}`);
    expect(removed).toContain(`Deleted: ${seed.config}`);
    expect(await ok(["images", "-q"])).toBe("");
    expect((await cli.docker(["inspect", seed.ref])).code).not.toBe(0);
    expect(await ok(["load", "-i", tar])).toContain(`Loaded image: ${seed.ref}`);
    const [img] = JSON.parse(await ok(["inspect", seed.ref]));
    expect(img.Id).toBe(seed.config);
    expect(img.RootFS.Layers).toEqual(seed.diffIds);
    const again = `${wharf.host}/team/loaded:1`;
    await ok(["tag", seed.ref, again]);
    expect(await ok(["push", again])).toMatch(/1: digest: sha256:[0-9a-f]{64}/);
    const back = await remote(again);
    expect(back.config).toBe(seed.config);
    expect(back.diffIds).toEqual(seed.diffIds);
  });

  it("what the store does not serve is a clear 501", async () => {
    const ps = await cli.docker(["ps"]);
    expect(ps.code).not.toBe(0);
    expect(ps.stderr).toContain("not supported by wharf daemon");
    const runIt = await cli.docker(["run", "--rm", seed.ref]);
    expect(runIt.code).not.toBe(0);
    expect(runIt.stderr).toContain("not supported by wharf daemon");
  });
});
