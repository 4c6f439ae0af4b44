/**
 * Operations end to end against the real server (npm start, i.e. wrangler dev with its local queues and
 * Durable Objects): a skopeo push with credentials reaches a webhook receiver on loopback as a correctly
 * signed distribution envelope, and 30 wrong passwords in a row from one address end in 429 with
 * Retry-After while the right password from another address still works.
 */
import { execFile } from "node:child_process";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "../../scripts/lib/webhook-receiver.mjs";
import { startWharf, type Wharf } from "./harness";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "..", "..");
const SECRET = "e2e-ops-signing-secret-0123456789abcdef";
const HOOK_SECRET = "e2e-webhook-secret-0123456789";
const PASSWORD = "deployer-password";
const work = mkdtempSync(join(tmpdir(), "wharf-ops-e2e-"));

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A one-layer OCI image layout; returns its path and manifest digest. */
function ociLayout(seed: string): { dir: string; digest: string; size: number } {
  const dir = join(work, `layout-${seed}`);
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const put = (b: Buffer) => {
    writeFileSync(join(dir, "blobs", "sha256", sha(b)), b);
    return { digest: `sha256:${sha(b)}`, size: b.length };
  };
  const layer = put(gzipSync(Buffer.from(`ops layer ${seed} `.repeat(500))));
  const config = put(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, seed })));
  const m = put(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  })));
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m }],
  }));
  return { dir, ...m };
}

let wharf: Wharf;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  const hash = (await run("sh", ["-c", `printf %s '${PASSWORD}' | node scripts/hash-password.mjs --iterations 1000`], { cwd: ROOT })).stdout.trim();
  wharf = await startWharf({
    AUTH_SIGNING_SECRET: SECRET,
    AUTH_CONFIG: JSON.stringify({
      users: { deployer: hash },
      rules: [{ users: ["deployer"], repositories: ["ops/*"], actions: ["pull", "push", "delete"] }],
    }),
    WEBHOOKS: JSON.stringify([{ url: `${receiver.url}/ok/e2e`, secret: HOOK_SECRET, repositories: ["ops/*"] }]),
    // wrangler prints the Worker's console.log lines (the JSON log lines) from level "log" up.
    WHARF_LOG_LEVEL: "log",
  });
});

afterAll(async () => {
  await wharf?.stop();
  await receiver?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("webhooks", () => {
  it("a skopeo push with credentials reaches the receiver as a signed push event", async () => {
    const image = ociLayout("hook");
    await run("skopeo", ["copy", "--dest-tls-verify=false", "--dest-creds", `deployer:${PASSWORD}`, `oci:${image.dir}`, `docker://${wharf.host}/ops/app:1`], {
      timeout: 120_000,
      env: { ...process.env, REGISTRY_AUTH_FILE: join(work, "auth.json") },
    });
    const deadline = Date.now() + 30_000;
    while (receiver.received("/ok/e2e").length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const got = receiver.received("/ok/e2e");
    expect(got.length, wharf.log()).toBeGreaterThan(0);
    const post = got[0];
    expect(post.method).toBe("POST");
    expect(post.headers["content-type"]).toBe("application/vnd.docker.distribution.events.v2+json");
    // What a receiver does: HMAC the raw body with its secret and compare in constant time.
    const expected = Buffer.from(`sha256=${createHmac("sha256", HOOK_SECRET).update(post.body).digest("hex")}`);
    const actual = Buffer.from(String(post.headers["wharf-signature"]));
    expect(actual.length === expected.length && timingSafeEqual(actual, expected)).toBe(true);
    const { events } = JSON.parse(post.body) as { events: Record<string, any>[] };
    const push = events.find((e) => e.action === "push");
    expect(push).toMatchObject({
      action: "push",
      target: { repository: "ops/app", tag: "1", digest: image.digest, size: image.size, mediaType: "application/vnd.oci.image.manifest.v1+json" },
      request: { method: "PUT", host: wharf.host, addr: "127.0.0.1" },
      actor: { name: "deployer" },
    });
    expect(push!.request.useragent).toMatch(/skopeo|containers/i);
    // The consumer logs the delivery once the receiver's answer is back, a moment after the receiver saw it.
    const delivered = /"job":"webhook".*"outcome":"delivered"/;
    const logDeadline = Date.now() + 10_000;
    while (!delivered.test(wharf.log()) && Date.now() < logDeadline) await new Promise((r) => setTimeout(r, 100));
    expect(wharf.log()).toMatch(delivered);
  });
});

describe("failed-login limit", () => {
  const token = (password: string, headers: Record<string, string> = {}) =>
    fetch(`${wharf.url}/v2/token?service=wharf&scope=repository:ops/app:pull`, {
      headers: { Authorization: `Basic ${Buffer.from(`deployer:${password}`).toString("base64")}`, ...headers },
    });

  it("30 wrong passwords in a row from one address end in 429 with Retry-After; another address still logs in", async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 30; i++) {
      last = await token(`wrong-${i}`);
      statuses.push(last.status);
      await last.arrayBuffer();
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401)); // LOGIN_FAILURES_PER_MINUTE defaults to 10
    expect(statuses.slice(10)).toEqual(Array(20).fill(429));
    const retryAfter = Number(last!.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const locked = await token(PASSWORD);
    expect(locked.status).toBe(429);
    expect(((await locked.json()) as { errors: { code: string }[] }).errors[0].code).toBe("TOOMANYREQUESTS");
    // wrangler dev keeps a CF-Connecting-IP the client sends (Cloudflare's edge would overwrite it): another address.
    const other = await token(PASSWORD, { "CF-Connecting-IP": "192.0.2.99" });
    expect(other.status).toBe(200);
    expect(wharf.log()).toMatch(/"login":"refused"/);
  });
});
