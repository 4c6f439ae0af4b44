/**
 * `wharf daemon --forward`: the unmodified docker CLI in front of a real dockerd (started here, in a
 * temporary folder) and a Wharf with MAX_CHUNK_BYTES=100000000, as behind a Free/Pro zone.
 * - `docker push` of an image with a 150 MB incompressible layer fails straight through dockerd (413:
 *   the edge limit, which Wharf now enforces on streamed bodies too) and succeeds through the front,
 *   which pushes in chunks; pulled back through dockerd, its image ID and layer diff_ids are the ones
 *   built, so the bytes are identical.
 * - docker load, images, inspect and run --rm (hijacked attach) of a small image pass through unchanged.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImageArchive, type BuiltImage, busyboxAvailable } from "./docker-images";
import { dockerCli } from "./docker-cli";
import { DOCKER_CLI, type Dockerd, startDockerd } from "./dockerd";
import { startWharf, type Wharf } from "./harness";
import { startDaemon, type WharfDaemon } from "./wharf-daemon";

const run = promisify(execFile);
const BIG = 150 * 1000 * 1000;
const work = mkdtempSync(join("/tmp", "wharf-front-e2e-"));

let dockerd: Dockerd;
let wharf: Wharf;
let front: WharfDaemon;
let viaFront: ReturnType<typeof dockerCli>;
let direct: ReturnType<typeof dockerCli>;
let small: BuiltImage;
let big: BuiltImage;

beforeAll(async () => {
  if (!busyboxAvailable()) throw new Error("these tests need a static busybox at /bin/busybox: apt-get install busybox-static");
  [dockerd, wharf] = await Promise.all([startDockerd(), startWharf({ MAX_CHUNK_BYTES: "100000000" })]);
  front = await startDaemon(["--forward", dockerd.host]);
  viaFront = dockerCli(front.host);
  direct = dockerCli(dockerd.host, viaFront.configDir);
  [small, big] = await Promise.all([
    buildImageArchive(join(work, "small.tar"), "wharf-e2e/small:1"),
    buildImageArchive(join(work, "big.tar"), `${wharf.host}/front/big:1`, { randomBytes: BIG }),
  ]);
}, 180_000);

afterAll(async () => {
  await front?.stop();
  await Promise.all([dockerd?.stop(), wharf?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

async function ok(cli: ReturnType<typeof dockerCli>, args: string[]): Promise<string> {
  const r = await cli.docker(args);
  expect(r.code, `docker ${args.join(" ")}:\n${r.stdout}${r.stderr}\nfront log:\n${front.log()}`).toBe(0);
  return r.stdout;
}

describe("wharf daemon in front of dockerd", () => {
  it("passes docker load, images, inspect and run --rm through unchanged", async () => {
    expect(await ok(viaFront, ["load", "-i", small.path])).toContain(`Loaded image: ${small.repoTag}`);
    expect(await ok(viaFront, ["version", "--format", "{{.Server.Version}}"])).toMatch(/^20\.10/);
    expect(await ok(viaFront, ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])).toBe(await ok(direct, ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]));
    const inspected = JSON.parse(await ok(viaFront, ["inspect", small.repoTag]));
    expect(inspected).toEqual(JSON.parse(await ok(direct, ["inspect", small.repoTag])));
    expect(inspected[0].Id).toBe(small.id);
    // A container's output comes back over the hijacked attach connection.
    expect(await ok(viaFront, ["run", "--rm", "--network", "none", small.repoTag])).toBe("hello from wharf\n");
    const failed = await viaFront.docker(["run", "--rm", "--network", "none", small.repoTag, "/bin/busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect([failed.code, failed.stdout, failed.stderr]).toEqual([3, "out\n", "err\n"]);
  });

  it("docker push of a 150 MB layer: refused straight through dockerd, pushed in chunks through the front, pulled back identical", async () => {
    expect(await ok(viaFront, ["load", "-i", big.path])).toContain(`Loaded image: ${big.repoTag}`);

    // Straight through dockerd: its single PATCH of the layer is cut at 100 MB with 413. dockerd would
    // retry four more times over 50 s; the first refusal (in its log) is enough, then the push is stopped.
    const straight = spawn(DOCKER_CLI, ["push", big.repoTag], { env: { ...process.env, DOCKER_HOST: dockerd.host, DOCKER_CONFIG: direct.configDir }, stdio: "ignore" });
    const refused = await waitForLog(dockerd, /Upload failed, retrying: .*/, straight);
    straight.kill("SIGINT");
    expect(refused).toMatch(/413|too large|in chunks/i);
    expect((await skopeoInspect(`${wharf.host}/front/big:1`)).ok).toBe(false);

    // Through the front: Wharf's client pushes the layer in chunks under the limit.
    const pushed = await ok(viaFront, ["push", big.repoTag]);
    expect(pushed).toContain("Pushed");
    const digest = /1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed)?.[1];
    expect(digest, pushed).toBeDefined();
    const remote = await skopeoInspect(`${wharf.host}/front/big:1`);
    expect(remote.ok).toBe(true);
    expect(remote.json.Digest).toBe(digest);
    expect(remote.json.Layers).toHaveLength(2);

    // Pulled back through dockerd: the same image ID (config digest) and layer diff_ids as built.
    await ok(viaFront, ["rmi", big.repoTag]);
    await ok(viaFront, ["pull", big.repoTag]);
    const back = JSON.parse(await ok(viaFront, ["inspect", big.repoTag]))[0];
    expect(back.Id).toBe(big.id);
    expect(back.RootFS.Layers).toEqual(big.diffIds);
    expect(back.RepoDigests).toContain(`${wharf.host}/front/big@${digest}`);
  }, 420_000); // 150 MB through dockerd (vfs), gzip and the R2 simulator, four times: slow on a shared 2-core machine

  it("a push of an image dockerd does not have is Docker's 404, before any progress", async () => {
    const r = await viaFront.docker(["push", `${wharf.host}/front/none:1`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/does not exist locally|No such image/);
  });
});

/** Wait until the daemon's log has a line matching `re` (or the process ended); returns the line. */
async function waitForLog(d: Dockerd, re: RegExp, proc: ChildProcess, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(d.log());
    if (m) return m[0];
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`no ${re} in dockerd's log:\n${d.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function skopeoInspect(ref: string): Promise<{ ok: boolean; json: { Digest?: string; Layers?: string[] } }> {
  try {
    const r = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`], { timeout: 60_000 });
    return { ok: true, json: JSON.parse(r.stdout) };
  } catch {
    return { ok: false, json: {} };
  }
}
