// Pull-through cache end to end: the real local server (npm start) in front of real upstreams on loopback
// (CNCF distribution plain and with htpasswd, a second Wharf with token auth, a lying registry), driven by
// skopeo and by a real dockerd configured with Wharf as its registry mirror. Upstream requests are
// counted from the upstream's own access log.
import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDockerd } from "./dockerd";
import { startWharf, type Wharf } from "./harness";
import { buildOciImage, ociImage } from "./images";
import { type LoggedRegistry, type LyingRegistry, startLoggedDistribution, startLyingRegistry } from "./upstreams";

const HTPASSWD = { user: "puller", password: "pull-secret" };
const CI = { user: "ci", password: "ci-secret-password" };

let work: string;
let layout: string;
let dist: LoggedRegistry;
let distAuth: LoggedRegistry;
let liar: LyingRegistry;
let upWharf: Wharf;
let wharf: Wharf;

/** skopeo with a time limit: a hung pull fails the test instead of blocking the run. */
const skopeo = (...args: string[]) =>
  execFileSync("skopeo", ["--insecure-policy", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000, maxBuffer: 64 << 20 });
const pull = (ref: string, out: string) => skopeo("copy", "--src-tls-verify=false", `docker://${wharf.host}/${ref}`, `oci:${join(work, out)}:x`);
/** The same pull without blocking this process: needed when the upstream is a server in this process. */
const pullAsync = (ref: string, out: string) =>
  new Promise<void>((resolve, reject) =>
    execFile("skopeo", ["--insecure-policy", "copy", "--src-tls-verify=false", `docker://${wharf.host}/${ref}`, `oci:${join(work, out)}:x`], { timeout: 120_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(),
    ),
  );
const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function pushTo(host: string, ref: string, creds?: { user: string; password: string }) {
  const c = creds ? ["--dest-creds", `${creds.user}:${creds.password}`] : [];
  skopeo("copy", "--dest-tls-verify=false", ...c, `oci:${layout}:v1`, `docker://${host}/${ref}`);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wharf-proxy-e2e-"));
  layout = buildOciImage(join(work, "src"), "v1", ["/usr/share/doc/git", "/usr/share/doc/skopeo"]);
  const hash = execFileSync("node", [join(__dirname, "..", "..", "scripts", "hash-password.mjs")], { input: CI.password, encoding: "utf8" }).trim();
  [dist, distAuth, liar, upWharf] = await Promise.all([
    startLoggedDistribution(join(work, "dist")),
    startLoggedDistribution(join(work, "dist-auth"), HTPASSWD),
    startLyingRegistry(),
    startWharf({
      AUTH_CONFIG: JSON.stringify({ users: { ci: hash }, rules: [{ users: ["ci"], repositories: ["*"], actions: ["*"] }] }),
      AUTH_ANONYMOUS_PUSH: "false",
    }),
  ]);
  pushTo(dist.host, "e2e/app:v1");
  pushTo(dist.host, "library/e2eimg:v1");
  pushTo(distAuth.host, "private/app:v1", HTPASSWD);
  pushTo(upWharf.host, "team/app:v1", CI);
  wharf = await startWharf({
    UPSTREAMS: JSON.stringify([
      { prefix: "dist", url: dist.url, tagTtlSeconds: 3600 },
      { prefix: "dist1", url: dist.url, tagTtlSeconds: 1 },
      { prefix: "hub", url: dist.url, mirror: true, library: true },
      { prefix: "auth", url: distAuth.url, username: HTPASSWD.user, password: HTPASSWD.password },
      { prefix: "badauth", url: distAuth.url, username: HTPASSWD.user, password: "wrong" },
      { prefix: "wharf", url: upWharf.url, username: CI.user, password: CI.password },
      { prefix: "liar", url: liar.url },
    ]),
  });
}, 240_000);

afterAll(async () => {
  const timed = async (what: string, p: Promise<void> | undefined) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => (timer = setTimeout(() => (console.error(`proxy e2e: ${what} did not stop within 20 s`), r()), 20_000)));
    await Promise.race([p, late]);
    clearTimeout(timer);
  };
  await Promise.all([timed("wharf", wharf?.stop()), timed("upstream wharf", upWharf?.stop()), timed("distribution", dist?.stop()), timed("distribution with htpasswd", distAuth?.stop()), timed("lying registry", liar?.stop())]);
  rmSync(work, { recursive: true, force: true });
});

describe("pull-through cache with skopeo", () => {
  it("pulls an image through the cache; a second pull within the TTL asks the upstream for nothing", async () => {
    const image = ociImage(layout, "v1");
    dist.clear();
    pull("dist/e2e/app:v1", "first");
    const got = ociImage(join(work, "first"), "x");
    expect(got.manifestDigest).toBe(image.manifestDigest);
    const fetched = await dist.contentRequests();
    for (const d of [image.config, ...image.layers]) {
      expect(fetched.filter((r) => r === `GET /v2/e2e/app/blobs/${d.digest}`)).toHaveLength(1);
    }
    dist.clear();
    pull("dist/e2e/app:v1", "second");
    expect(ociImage(join(work, "second"), "x").manifestDigest).toBe(image.manifestDigest);
    expect(await dist.contentRequests()).toEqual([]);
    const head = await fetch(`${wharf.url}/v2/dist/e2e/app/manifests/v1`, { method: "HEAD" });
    expect(head.headers.get("Wharf-Cache")).toBe("hit");
    const tags = JSON.parse(skopeo("list-tags", "--tls-verify=false", `docker://${wharf.host}/dist/e2e/app`)) as { Tags: string[] };
    expect(tags.Tags).toEqual(["v1"]);
  });

  it("after the TTL, revalidates with one HEAD and nothing else", async () => {
    pull("dist1/e2e/app:v1", "ttl-first");
    await new Promise((r) => setTimeout(r, 1500));
    dist.clear();
    pull("dist1/e2e/app:v1", "ttl-second");
    expect(await dist.contentRequests()).toEqual(["HEAD /v2/e2e/app/manifests/v1"]);
  });

  it("ten concurrent pulls of one uncached 200 MB layer make one upstream GET", async () => {
    const big = randomBytes(200 * 1024 * 1024);
    const digest = sha256(big);
    const start = await fetch(`${dist.url}/v2/e2e/big/blobs/uploads/`, { method: "POST" });
    const loc = new URL(start.headers.get("Location")!, dist.url);
    loc.searchParams.set("digest", digest);
    const put = await fetch(loc, { method: "PUT", body: big, headers: { "Content-Type": "application/octet-stream" } });
    expect(put.status).toBe(201);
    dist.clear();
    const hashes = await Promise.all(Array.from({ length: 10 }, async () => {
      const res = await fetch(`${wharf.url}/v2/dist/e2e/big/blobs/${digest}`, { signal: AbortSignal.timeout(170_000) });
      expect(res.status).toBe(200);
      const h = createHash("sha256");
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) h.update(chunk);
      return `sha256:${h.digest("hex")}`;
    }));
    expect(hashes).toEqual(Array(10).fill(digest));
    expect((await dist.contentRequests()).filter((r) => r.startsWith("GET "))).toEqual([`GET /v2/e2e/big/blobs/${digest}`]);
  }, 180_000);

  it("pulls from an upstream with htpasswd Basic auth; wrong credentials are a DENIED naming the upstream", async () => {
    pull("auth/private/app:v1", "auth");
    expect(ociImage(join(work, "auth"), "x").manifestDigest).toBe(ociImage(layout, "v1").manifestDigest);
    const res = await fetch(`${wharf.url}/v2/badauth/private/app/manifests/v1`);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0].code).toBe("DENIED");
    expect(body.errors[0].message).toContain(`upstream badauth (${distAuth.url}) refused`);
  });

  it("pulls from another Wharf with token auth (its blob redirects followed without credentials)", () => {
    pull("wharf/team/app:v1", "from-wharf");
    expect(ociImage(join(work, "from-wharf"), "x").manifestDigest).toBe(ociImage(layout, "v1").manifestDigest);
  });

  it("a lying upstream stores nothing and the client gets an error", async () => {
    // The lying registry runs in this process: a synchronous skopeo would leave it unable to answer.
    await expect(pullAsync(`liar/${liar.image.repo}:${liar.image.tag}`, "lie")).rejects.toThrow(/digest|manifest|blob/i);
    const bad = await fetch(`${wharf.url}/v2/liar/${liar.image.repo}/manifests/${liar.badManifestTag}`);
    expect(bad.status).toBe(502);
    expect(((await bad.json()) as { errors: { message: string }[] }).errors[0].message).toMatch(/nothing was stored/);
    await liar.stop();
    // Nothing cached can serve the layer now: Wharf goes upstream, which is gone.
    const blob = await fetch(`${wharf.url}/v2/liar/${liar.image.repo}/blobs/${liar.image.layerDigest}`);
    expect(blob.status).toBe(502);
    expect(((await blob.json()) as { errors: { message: string }[] }).errors[0].message).toMatch(/unreachable/);
  });

  it("refuses pushes under a proxy prefix, saying it is a cache", () => {
    let message = "";
    try {
      pushTo(wharf.host, "dist/e2e/app:v2");
    } catch (e) {
      message = String((e as { stderr?: string }).stderr ?? e);
    }
    expect(message).toMatch(/pull-through cache/);
  });
});

describe("docker pull through Wharf as dockerd's registry mirror", () => {
  it("pulls a Docker Hub style name (library/) through the mirror", async () => {
    const d = await startDockerd({ registryMirrors: [wharf.url] });
    try {
      dist.clear();
      await d.docker(["pull", "e2eimg:v1"], { timeoutMs: 120_000 });
      const id = (await d.docker(["image", "inspect", "--format", "{{.Id}}", "e2eimg:v1"])).trim();
      expect(id).toBe(ociImage(layout, "v1").config.digest);
      expect(await dist.contentRequests()).toContain("GET /v2/library/e2eimg/manifests/v1");
      const catalog = (await (await fetch(`${wharf.url}/v2/_catalog`)).json()) as { repositories: string[] };
      expect(catalog.repositories).toContain("hub/library/e2eimg");
    } finally {
      await d.stop();
    }
  });
});

describe("with the upstream stopped", () => {
  it("pulls still work: cached tags within the TTL, and stale ones after it", async () => {
    await dist.stop();
    pull("dist/e2e/app:v1", "down-fresh");
    pull("dist1/e2e/app:v1", "down-stale");
    expect(ociImage(join(work, "down-stale"), "x").manifestDigest).toBe(ociImage(layout, "v1").manifestDigest);
    const res = await fetch(`${wharf.url}/v2/dist1/e2e/app/manifests/v1`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Wharf-Cache")).toBe("stale");
    const cold = await fetch(`${wharf.url}/v2/dist/e2e/never/manifests/v1`);
    expect(cold.status).toBe(502);
    expect(((await cold.json()) as { errors: { message: string }[] }).errors[0].message).toContain(`upstream dist (${dist.url}) is unreachable`);
  });
});
