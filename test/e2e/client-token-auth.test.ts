// End to end: the client's Bearer token flow (Docker token spec) and Basic credentials from the login
// file or Docker's config.json, against CNCF distribution with token auth and a token server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClientError } from "../../src/client/errors";
import { nodeClient } from "../../src/node/client";
import { pushBlob } from "../../src/client/upload";
import { buildOciImage, ociImage, run } from "./images";
import { startTokenRegistry, type TokenRegistry } from "./distribution";
import { wharfCli, wharfOk } from "./wharf-cli";

let reg: TokenRegistry;
let work: string;
const users = { ci: "s3cret:with-colon" };
const credentials = () => ({ username: "ci", password: users.ci });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wharf-token-"));
  reg = await startTokenRegistry(join(work, "registry"), users);
});

afterAll(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

const once = (b: Uint8Array) => ({ async *open() { yield b; } });

describe("Bearer token flow", () => {
  it("gets a token from the challenge's realm with Basic credentials and reuses it per scope", async () => {
    const client = nodeClient(reg.host, { credentials });
    const start = reg.requests.length;
    const blobs = ["one", "two", "three"].map((s) => new TextEncoder().encode(s));
    for (const b of blobs) await pushBlob(client, "auth/app", once(b));
    for (const b of blobs) await pushBlob(client, "auth/app", once(b));
    const asked = reg.requests.slice(start);
    // One token for pull+push on the repository, fetched once and reused by every later request.
    expect(asked).toEqual([{ user: "ci", service: "test-registry", scopes: ["repository:auth/app:pull,push"] }]);
    // A read needs a pull-only token: a second token request, and then distribution's own answer.
    const tags = client.tags("auth/app");
    await expect(tags.next()).rejects.toMatchObject({ code: "NAME_UNKNOWN", status: 404 });
    expect(reg.requests.slice(start).map((r) => r.scopes)).toEqual([["repository:auth/app:pull,push"], ["repository:auth/app:pull"]]);
  });

  it("turns refused credentials and an empty token into typed errors", async () => {
    const wrong = nodeClient(reg.host, { credentials: () => ({ username: "ci", password: "nope" }) });
    const err = await wrong.headBlob("auth/app", `sha256:${"0".repeat(64)}`).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryClientError);
    expect(err).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    // Anonymous: the token server hands out a token without access, the registry refuses it.
    const anon = nodeClient(reg.host);
    await expect(anon.getManifest("auth/app", "latest")).rejects.toMatchObject({ status: 401 });
  });
});

describe("wharf CLI with credentials", () => {
  let layout: string;
  beforeAll(() => {
    layout = buildOciImage(join(work, "img"), "v1", ["/usr/share/doc/skopeo"]);
  });

  it("logs in, saves the login file with mode 0600, and pushes and pulls with it", async () => {
    const env = { WHARF_AUTH_FILE: join(work, "wharf-auth.json"), DOCKER_CONFIG: join(work, "no-docker") };
    const bad = await wharfCli(["login", reg.host, "-u", "ci", "-p", "wrong"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/UNAUTHORIZED/);
    await wharfOk(["login", reg.host, "-u", "ci", "-p", users.ci], env);
    expect(run("stat", ["-c", "%a", env.WHARF_AUTH_FILE]).trim()).toBe("600");

    await wharfOk(["push", layout, `${reg.host}/auth/cli:v1`], env);
    const out = join(work, "pulled");
    await wharfOk(["pull", "--format", "oci", `${reg.host}/auth/cli:v1`, out], env);
    expect(ociImage(out, "v1").manifestDigest).toBe(ociImage(layout, "v1").manifestDigest);

    const anonymous = await wharfCli(["tags", `${reg.host}/auth/cli`], { WHARF_AUTH_FILE: join(work, "none.json"), DOCKER_CONFIG: join(work, "no-docker") });
    expect(anonymous.code).toBe(1);
  });

  it("reads Docker's config.json auths", async () => {
    const dockerDir = join(work, "docker");
    mkdirSync(dockerDir, { recursive: true });
    writeFileSync(join(dockerDir, "config.json"), JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from(`ci:${users.ci}`).toString("base64") } } }));
    await wharfOk(["push", layout, `${reg.host}/auth/docker-config:v1`], { WHARF_AUTH_FILE: join(work, "none.json"), DOCKER_CONFIG: dockerDir });
    expect((await wharfOk(["tags", `${reg.host}/auth/docker-config`], { WHARF_AUTH_FILE: join(work, "none.json"), DOCKER_CONFIG: dockerDir })).trim()).toBe("v1");
  });
});
