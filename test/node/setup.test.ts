// `npm run setup`: secrets made once, the exact wrangler commands, wrangler.toml edits for plan and domain.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { verifyPassword, parsePasswordHash } from "../../src/worker/auth/password";
import { parseSettings } from "../../src/worker/settings";
import { addDomain, planSetup, quote, setupCommand, setVar } from "../../src/node/cli/setup";

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "wharf-setup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");

describe("setup", () => {
  it("makes every secret once, in files only the owner can read, and valid as settings", async () => {
    const out: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => out.push(s), exec: async () => ({ code: 0, output: "" }) };
    const args = ["--dir", dir, "--admin", "ops", "--webhook", "https://ci.example.com/hook"];
    // setupCommand writes wrangler.toml only for --plan/--domain, so the checkout stays untouched here.
    expect(await setupCommand(args, ROOT, {}, io)).toBe(0);
    const secrets = JSON.parse(readFileSync(join(dir, "secrets.json"), "utf8"));
    expect(Object.keys(secrets).sort()).toEqual(["AUTH_CONFIG", "AUTH_SIGNING_SECRET", "BLOB_URL_SECRET", "WEBHOOKS"]);
    expect(secrets.BLOB_URL_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.AUTH_SIGNING_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(dir, "secrets.json")).mode & 0o777).toBe(0o600);
    const s = parseSettings(secrets); // what the Worker will accept
    const password = readFileSync(join(dir, "admin-password"), "utf8");
    expect(await verifyPassword(parsePasswordHash(JSON.parse(secrets.AUTH_CONFIG).users.ops), password)).toBe(true);
    expect(s.WEBHOOKS[0].url).toBe("https://ci.example.com/hook");
    expect(out.join("\n")).toContain(`password ${password}`);
    expect(out.join("\n")).toContain(`secret ${s.WEBHOOKS[0].secret}`);
    // A second run keeps them and prints no password again.
    const again: string[] = [];
    expect(await setupCommand(args, ROOT, {}, { ...io, stdout: (x) => again.push(x) })).toBe(0);
    const secrets2 = JSON.parse(readFileSync(join(dir, "secrets.json"), "utf8"));
    expect(secrets2.BLOB_URL_SECRET).toBe(secrets.BLOB_URL_SECRET);
    expect(secrets2.AUTH_SIGNING_SECRET).toBe(secrets.AUTH_SIGNING_SECRET);
    expect(JSON.parse(secrets2.WEBHOOKS)[0].secret).toBe(s.WEBHOOKS[0].secret);
    expect(again.join("\n")).not.toContain(password);
    expect(readFileSync(join(ROOT, "wrangler.toml"), "utf8")).toBe(toml);
  });

  it("prints the exact wrangler commands in order, or runs them, tolerating 'already exists'", async () => {
    const plan = await planSetup({ dir: "/x/.wharf-deploy", shownDir: ".wharf-deploy", webhooks: [], env: {} }, toml);
    expect(plan.commands.map((c) => quote(c.argv))).toEqual([
      "npx wrangler r2 bucket create wharf",
      "npx wrangler queues create wharf-events",
      "npx wrangler queues create wharf-events-dlq",
      "npm run deploy -- --secrets-file .wharf-deploy/secrets.json",
    ]);
    const ran: string[] = [];
    const exec = async (argv: string[]) => {
      ran.push(quote(argv));
      return argv.includes("bucket") ? { code: 1, output: "The bucket you tried to create already exists" } : { code: 0, output: "" };
    };
    const d2 = join(dir, "run");
    expect(await setupCommand(["--dir", d2, "--run"], ROOT, {}, { stdout: () => {}, stderr: () => {}, exec })).toBe(0);
    expect(ran).toHaveLength(4);
    const failing = async () => ({ code: 1, output: "Authentication error" });
    expect(await setupCommand(["--dir", d2, "--run"], ROOT, {}, { stdout: () => {}, stderr: () => {}, exec: failing })).toBe(1);
  });

  it("copies the R2 S3 credentials from the environment only when all four are set", async () => {
    const r2 = { R2_ACCESS_KEY_ID: "id", R2_SECRET_ACCESS_KEY: "key", R2_ACCOUNT_ID: "acct", R2_BUCKET_NAME: "wharf" };
    expect((await planSetup({ dir: join(dir, "r2"), webhooks: [], env: r2 }, toml)).secrets).toMatchObject(r2);
    expect((await planSetup({ dir: join(dir, "r2"), webhooks: [], env: { R2_ACCESS_KEY_ID: "id" } }, toml)).secrets.R2_ACCESS_KEY_ID).toBeUndefined();
  });

  it("sets MAX_CHUNK_BYTES for the plan and adds the custom domain in wrangler.toml", async () => {
    const plan = await planSetup({ dir: join(dir, "p"), webhooks: [], env: {}, plan: "business", domain: "registry.example.com" }, toml);
    expect(plan.wranglerToml).toMatch(/^MAX_CHUNK_BYTES = "200000000"$/m);
    expect(plan.wranglerToml).toMatch(/^routes = \[\{ pattern = "registry.example.com", custom_domain = true \}\]$/m);
    // top-level key: before the first table
    expect(plan.wranglerToml!.indexOf("routes =")).toBeLessThan(plan.wranglerToml!.indexOf("\n["));
    expect(setVar("[vars]\nA = \"1\"\n", "MAX_CHUNK_BYTES", "5")).toBe('[vars]\nMAX_CHUNK_BYTES = "5"\nA = "1"\n');
    expect(addDomain(addDomain(toml, "a.example"), "a.example")).toBe(addDomain(toml, "a.example"));
    await expect(planSetup({ dir, webhooks: [], env: {}, plan: "gold" }, toml)).rejects.toThrow(/--plan must be one of/);
  });

  it("runs as npm run setup", () => {
    const d3 = join(dir, "npm");
    const r = spawnSync("npm", ["run", "-s", "setup", "--", "--dir", d3], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("npx wrangler queues create wharf-events");
    expect(existsSync(join(d3, "secrets.json"))).toBe(true);
  });
});
