/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core (never a downloaded
 * browser), against the real local server (npm start) with AUTH_CONFIG. Images are pushed with
 * skopeo (an OCI layout built with umoci, plus an index over two platforms) and an SBOM artifact
 * referring to the index through the raw API. Then: browse / → repository → tag → platform →
 * referrer, copy a pull command, sign in, delete a tag, and check that an anonymous visitor cannot
 * see a private repository; last, the getting-started page of the registry restarted with a Docker Hub
 * mirror. Screenshots of every page go to test-artifacts/ui/ (git-ignored).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/worker/auth/password";
import { startWharf, type Wharf } from "./harness";
import { blobPath, buildOciImage, ociImage, run } from "./images";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = resolve(__dirname, "..", "..", "test-artifacts", "ui");
const ALICE = "alice-browser-pw";
const BASIC = `Basic ${Buffer.from(`alice:${ALICE}`).toString("base64")}`;
const sha = (b: string | Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

const SIGNING_SECRET = "ui-browser-signing-secret-0123456789abcdef";
let wharf: Wharf;
let authConfig: string;
let work: string;
let browser: Browser;
let indexDigest: string;
let armDigest: string;
let sbomDigest: string;

/** An index over the layout's image (amd64) and an arm64 twin, tagged "multi" in the layout. */
function addIndex(dir: string): void {
  const amd = ociImage(dir, "v1");
  const cfg = JSON.parse(readFileSync(blobPath(dir, amd.config.digest), "utf8"));
  const armCfg = JSON.stringify({ ...cfg, architecture: "arm64", variant: "v8" });
  writeFileSync(blobPath(dir, sha(armCfg)), armCfg);
  const armManifest = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(armCfg), size: Buffer.byteLength(armCfg) },
    layers: amd.layers,
  });
  writeFileSync(blobPath(dir, sha(armManifest)), armManifest);
  armDigest = sha(armManifest);
  const index = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: amd.manifestDigest, size: readFileSync(blobPath(dir, amd.manifestDigest)).length, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: armDigest, size: Buffer.byteLength(armManifest), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ],
  });
  writeFileSync(blobPath(dir, sha(index)), index);
  indexDigest = sha(index);
  const top = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  top.manifests.push({ mediaType: "application/vnd.oci.image.index.v1+json", digest: indexDigest, size: Buffer.byteLength(index), annotations: { "org.opencontainers.image.ref.name": "multi" } });
  writeFileSync(join(dir, "index.json"), JSON.stringify(top));
}

async function api(method: string, path: string, body?: string, type?: string): Promise<Response> {
  const headers: Record<string, string> = { Authorization: BASIC };
  if (type) headers["Content-Type"] = type;
  return fetch(`${wharf.url}${path}`, { method, headers, body, redirect: "manual" });
}

/** An SPDX SBOM artifact whose subject is the index, pushed with plain API calls. */
async function pushSbom(repo: string): Promise<string> {
  const put = async (b: string) => {
    const res = await api("POST", `/v2/${repo}/blobs/uploads/?digest=${sha(b)}`, b, "application/octet-stream");
    expect(res.status).toBe(201);
    return { digest: sha(b), size: Buffer.byteLength(b) };
  };
  const empty = await put("{}");
  const sbom = await put(JSON.stringify({ spdxVersion: "SPDX-2.3", name: "app", packages: [] }));
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: "application/spdx+json",
    config: { mediaType: "application/vnd.oci.empty.v1+json", ...empty },
    layers: [{ mediaType: "application/spdx+json", ...sbom }],
    subject: { mediaType: "application/vnd.oci.image.index.v1+json", digest: indexDigest, size: 1 },
    annotations: { "org.opencontainers.image.created": "2026-12-01T12:00:00Z" },
  });
  const res = await api("PUT", `/v2/${repo}/manifests/${sha(manifest)}`, manifest, "application/vnd.oci.image.manifest.v1+json");
  expect(res.status).toBe(201);
  return sha(manifest);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** A fresh browser context that records CSP violations and page errors. */
async function visitor(o: Parameters<Browser["newContext"]>[0] = {}): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, ...o });
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  return { ctx, page, problems };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (the browser tests never download one)`);
  mkdirSync(SHOTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), "wharf-ui-"));
  const layout = buildOciImage(work, "v1", ["/usr/share/doc/skopeo"]);
  run("umoci", ["config", "--image", `${layout}:v1`, "--config.entrypoint", "/usr/bin/app", "--config.cmd", "--serve",
    "--config.env", "APP_MODE=production", "--config.label", "org.opencontainers.image.source=https://example.test/app",
    "--config.workingdir", "/srv", "--history.created_by", "COPY app /usr/bin/app"]);
  addIndex(layout);
  const config = JSON.stringify({
    users: { alice: await hashPassword(ALICE, 1000) },
    rules: [
      { users: ["anonymous"], repositories: ["public/*"], actions: ["pull"] },
      { users: ["alice"], repositories: ["*"], actions: ["*", "catalog"] },
    ],
  });
  authConfig = config;
  wharf = await startWharf({ AUTH_CONFIG: config, AUTH_SIGNING_SECRET: SIGNING_SECRET });
  const skopeo = (...args: string[]) => execFileSync("skopeo", ["--insecure-policy", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const creds = ["--dest-tls-verify=false", "--dest-creds", `alice:${ALICE}`];
  skopeo("copy", ...creds, "--all", `oci:${layout}:multi`, `docker://${wharf.host}/public/app:multi`);
  skopeo("copy", ...creds, `oci:${layout}:v1`, `docker://${wharf.host}/public/app:v1`);
  skopeo("copy", ...creds, `oci:${layout}:v1`, `docker://${wharf.host}/public/app:old`);
  skopeo("copy", ...creds, `oci:${layout}:v1`, `docker://${wharf.host}/team/private-app:v1`);
  sbomDigest = await pushSbom("public/app");
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await wharf?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the web UI in Chromium", () => {
  it("an anonymous visitor browses / → repository → tag → platform → referrer, and copies a pull command", async () => {
    const { ctx, page, problems } = await visitor({ permissions: ["clipboard-read", "clipboard-write"] });
    await page.goto(`${wharf.url}/`);
    await expect.poll(() => page.title()).toBe("Repositories · Wharf");
    expect(await page.locator("main").innerText()).toContain("public/app");
    await shot(page, "1-repositories");

    await page.getByRole("link", { name: "public/app", exact: true }).click();
    await page.waitForURL(`${wharf.url}/r/public/app`);
    const tags = await page.locator("tbody").innerText();
    expect(tags).toContain("index: linux/amd64, linux/arm64/v8");
    for (const t of ["multi", "v1", "old"]) expect(tags).toContain(t);
    await shot(page, "2-tags");
    // the README's picture of a repository page (docs/ui-repository.png is a copy of this one)
    await page.setViewportSize({ width: 960, height: 600 });
    await page.locator("main").screenshot({ path: join(SHOTS, "readme-repository.png") });
    await page.setViewportSize({ width: 1200, height: 800 });

    await page.getByRole("link", { name: "multi", exact: true }).click();
    await page.waitForURL(`${wharf.url}/r/public/app:multi`);
    expect(await page.locator("h1").innerText()).toBe("public/app:multi");
    expect(await page.locator("main").innerText()).toContain(indexDigest);
    await shot(page, "3-index");

    // copy the docker pull command by tag
    await page.getByRole("button", { name: "Copy docker command" }).first().click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(`docker pull ${wharf.host}/public/app:multi`);

    await page.getByRole("link", { name: "linux/arm64/v8" }).click();
    await page.waitForURL(`${wharf.url}/r/public/app@${armDigest}`);
    const image = await page.locator("main").innerText();
    expect(image).toContain("linux/arm64/v8");
    expect(image).toContain('["/usr/bin/app"]');
    expect(image).toContain("APP_MODE=production");
    expect(image).toContain("org.opencontainers.image.source");
    expect(image).toContain("COPY app /usr/bin/app");
    await shot(page, "4-platform");

    await page.goBack();
    await page.locator(`a[href="/r/public/app@${sbomDigest}"]`).click();
    await page.waitForURL(`${wharf.url}/r/public/app@${sbomDigest}`);
    const sbom = await page.locator("main").innerText();
    expect(sbom).toContain("application/spdx+json");
    expect(sbom).toContain(indexDigest);
    await shot(page, "5-referrer");

    expect(problems).toEqual([]);
    await ctx.close();
  });

  it("an anonymous visitor cannot see the private repository, by list, search or URL", async () => {
    const { ctx, page } = await visitor();
    await page.goto(`${wharf.url}/`);
    expect(await page.content()).not.toContain("private-app");
    await page.getByRole("searchbox").fill("private");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\?q=private/);
    expect(await page.locator("main").innerText()).toContain("No repository you may see matches");
    const res = await page.goto(`${wharf.url}/r/team/private-app`);
    expect(res!.status()).toBe(404);
    await shot(page, "6-not-found");
    await ctx.close();
  });

  it("alice signs in, sees the private repository, and deletes a tag after confirming", async () => {
    const { ctx, page, problems } = await visitor();
    await page.goto(`${wharf.url}/r/public/app`);
    await page.getByRole("link", { name: "Sign in" }).click();
    await page.getByLabel("User name").fill("alice");
    await page.getByLabel("Password", { exact: true }).fill(ALICE);
    await shot(page, "7-sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${wharf.url}/r/public/app`);
    expect(await page.locator("header").innerText()).toContain("Signed in as alice");
    const [session] = (await ctx.cookies()).filter((c) => c.name === "wharf_session");
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe("Strict");
    expect(session.secure).toBe(false); // loopback: plain HTTP

    await page.goto(`${wharf.url}/`);
    expect(await page.locator("main").innerText()).toContain("team/private-app");

    await page.goto(`${wharf.url}/r/public/app`);
    await page.getByRole("link", { name: "Delete tag old" }).click();
    await page.waitForURL(`${wharf.url}/r/public/app:old/delete`);
    await shot(page, "8-confirm-delete");
    await page.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(/\/r\/public\/app\?deleted=/);
    expect(await page.getByRole("status").innerText()).toBe("Deleted tag old.");
    const list = (await (await api("GET", "/v2/public/app/tags/list")).json()) as { tags: string[] };
    expect(list.tags.sort()).toEqual(["multi", "v1"]);
    await shot(page, "9-deleted");
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it("is readable without JavaScript, usable from the keyboard, and dark on a dark system", async () => {
    const noJs = await visitor({ javaScriptEnabled: false });
    await noJs.page.goto(`${wharf.url}/r/public/app:v1`);
    expect(await noJs.page.locator("code", { hasText: `docker pull ${wharf.host}/public/app:v1` }).count()).toBe(1);
    expect(await noJs.page.getByRole("button", { name: "Copy docker command" }).count()).toBe(0); // hidden until the script runs
    await noJs.ctx.close();

    const kb = await visitor();
    await kb.page.goto(`${wharf.url}/`);
    await kb.page.keyboard.press("Tab");
    expect(await kb.page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await kb.page.getByRole("link", { name: "public/app", exact: true }).focus();
    await kb.page.keyboard.press("Enter");
    await kb.page.waitForURL(`${wharf.url}/r/public/app`);
    await kb.ctx.close();

    const dark = await visitor({ colorScheme: "dark" });
    await dark.page.goto(`${wharf.url}/r/public/app:multi`);
    expect(await dark.page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)).toBe("rgb(15, 19, 23)");
    await shot(dark.page, "10-index-dark");
    await dark.ctx.close();

    const phone = await visitor({ viewport: { width: 390, height: 800 } });
    await phone.page.goto(`${wharf.url}/r/public/app@${armDigest}`);
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(phone.page, "11-platform-narrow");
    await phone.page.goto(`${wharf.url}/getting-started`);
    await shot(phone.page, "12-getting-started-narrow");
    await phone.ctx.close();
  });

  // Last: it restarts the registry (one wrangler dev at a time) with a pull-through cache of Docker Hub as
  // the mirror. Nothing is pulled through it (nothing outside the machine is reachable): the page only
  // reads the setting.
  it("getting started with a Docker Hub mirror: daemon.json and hosts.toml for this host, copyable, no credentials", async () => {
    await wharf.stop();
    const upstreams = JSON.stringify([{ prefix: "hub", url: "https://registry-1.docker.io", mirror: true, username: "hub-robot", password: "dckr_pat_NEVER_SHOWN" }]);
    const doc = JSON.parse(authConfig);
    doc.rules.push({ users: ["anonymous"], repositories: ["hub/*"], actions: ["pull"] });
    wharf = await startWharf({ AUTH_CONFIG: JSON.stringify(doc), AUTH_SIGNING_SECRET: SIGNING_SECRET, UPSTREAMS: upstreams });
    const { ctx, page, problems } = await visitor({ permissions: ["clipboard-read", "clipboard-write"] });
    await page.goto(`${wharf.url}/getting-started`);
    const main = await page.locator("main").innerText();
    expect(main).toContain(`docker pull ${wharf.host}/hub/alpine`);
    expect(main).toContain("/etc/docker/daemon.json");
    expect(main).toContain("/etc/containerd/certs.d/docker.io/hosts.toml");
    expect(main).toContain(`[host."${wharf.url}"]`);
    expect(await page.content()).not.toMatch(/dckr_pat_NEVER_SHOWN|hub-robot/);
    await page.getByRole("button", { name: "Copy daemon.json" }).click();
    const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
    expect(copied).toEqual({ "registry-mirrors": [wharf.url], "insecure-registries": ["127.0.0.0/8"] });
    await shot(page, "13-getting-started-mirror");
    expect(problems).toEqual([]);
    await ctx.close();
  });
});
