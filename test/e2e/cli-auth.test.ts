// End to end: the wharf CLI and client against Wharf with users (AUTH_CONFIG): Docker's token flow from
// Wharf's challenge, the login file, CI tokens from `wharf token create`, and per-scope token reuse.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeClient } from "../../src/node/client";
import { pushBlob } from "../../src/client/upload";
import { startWharf, type Wharf } from "./harness";
import { buildOciImage, ociImage, run } from "./images";
import { randomDir, wharfCli, wharfOk } from "./wharf-cli";

const SECRET = "e2e-cli-auth-signing-secret-0123456789abcdef";
let wharf: Wharf;
let work: string;
let layout: string;
let env: Record<string, string>;

const hash = (pw: string) => run("sh", ["-c", `printf %s '${pw}' | node bin/wharf.mjs hash-password --iterations 1000`]).trim();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wharf-cli-auth-"));
  layout = buildOciImage(work, "v1", [randomDir(work, "r", 300_000)]);
  const config = {
    users: { alice: hash("alice-pw"), admin: hash("admin-pw") },
    rules: [
      { users: ["anonymous"], repositories: ["public/*"], actions: ["pull"] },
      { users: ["alice"], repositories: ["team/*"], actions: ["pull", "push"] },
      { users: ["admin"], repositories: ["*"], actions: ["*", "catalog"] },
    ],
  };
  wharf = await startWharf({ AUTH_CONFIG: JSON.stringify(config), AUTH_SIGNING_SECRET: SECRET, UPLOAD_PART_SIZE: String(5 << 20) });
  env = { WHARF_AUTH_FILE: join(work, "auth.json"), DOCKER_CONFIG: join(work, "docker") };
});

afterAll(async () => {
  await wharf?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("wharf against Wharf with users", () => {
  it("refuses a wrong login, then pushes, copies and pulls with the saved one", async () => {
    const anon = await wharfCli(["push", layout, `${wharf.host}/team/app:v1`], env);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/UNAUTHORIZED|DENIED/);
    const wrong = await wharfCli(["login", wharf.host, "-u", "alice", "-p", "nope"], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/UNAUTHORIZED/);
    await wharfOk(["login", wharf.host, "-u", "alice", "-p", "alice-pw"], env);

    await wharfOk(["push", layout, `${wharf.host}/team/app:v1`], env);
    // A mount needs pull on the source and push on the destination: one token with both scopes.
    expect(await wharfOk(["copy", `${wharf.host}/team/app:v1`, `${wharf.host}/team/copy:v1`], env)).toMatch(/Mounted from team\/app/);
    const out = join(work, "pulled");
    await wharfOk(["pull", "--format", "oci", `${wharf.host}/team/copy:v1`, out], env);
    expect(ociImage(out, "v1").manifestDigest).toBe(ociImage(layout, "v1").manifestDigest);

    // alice may not push outside team/*, nor list the catalog.
    const outside = await wharfCli(["push", layout, `${wharf.host}/other/app:v1`], env);
    expect(outside.code).toBe(1);
    expect((await wharfCli(["catalog", wharf.host], env)).code).toBe(1);
    await wharfOk(["logout", wharf.host], env);
    expect((await wharfCli(["tags", `${wharf.host}/team/app`], env)).code).toBe(1);
  });

  it("pulls anonymously where a rule allows it", async () => {
    await wharfOk(["push", layout, `${wharf.host}/public/tool:v1`], { ...env, WHARF_USERNAME: "admin", WHARF_PASSWORD: "admin-pw" });
    expect((await wharfOk(["tags", `${wharf.host}/public/tool`], env)).trim()).toBe("v1");
    expect((await wharfOk(["catalog", wharf.host], { ...env, WHARF_USERNAME: "admin", WHARF_PASSWORD: "admin-pw" })).split("\n")).toContain("public/tool");
  });

  it("uses a CI token from `wharf token create` as the password, within its patterns", async () => {
    const token = (await wharfOk(["token", "create", "--repo", "ci/*", "--actions", "pull,push", "--ttl", "1h"], { AUTH_SIGNING_SECRET: SECRET })).trim();
    const ci = { ...env, WHARF_USERNAME: "ci", WHARF_PASSWORD: token };
    await wharfOk(["push", layout, `${wharf.host}/ci/build:7`], ci);
    expect((await wharfOk(["tags", `${wharf.host}/ci/build`], ci)).trim()).toBe("7");
    expect((await wharfCli(["push", layout, `${wharf.host}/team/app:ci`], ci)).code).toBe(1);
  });

  it("fetches one token per scope and reuses it across a chunked push", async () => {
    const tokenRequests: string[] = [];
    const counting: typeof fetch = (input, init) => {
      const url = String(input);
      if (url.includes("/v2/token")) tokenRequests.push(new URL(url).searchParams.getAll("scope").join(" "));
      return fetch(input, init);
    };
    const client = nodeClient(wharf.host, { fetch: counting, credentials: () => ({ username: "alice", password: "alice-pw" }) });
    const data = Buffer.alloc(12 << 20, 7);
    const pushed = await pushBlob(client, "team/big", { async *open() { yield data; } }, { chunkSize: 5 << 20, forceChunked: true });
    expect(pushed.size).toBe(data.length);
    expect(await client.headBlob("team/big", pushed.digest)).toBe(data.length);
    expect(tokenRequests).toEqual(["repository:team/big:pull,push", "repository:team/big:pull"]);
  });
});
