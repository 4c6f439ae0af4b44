/** The pieces under the auth flow: configuration checks, patterns, scopes, TTLs, passwords, the token command. */
import { describe, expect, it } from "vitest";
import { parseTtl } from "../../../src/worker/auth/ci-token";
import { grantRequested, matches, parseScopes } from "../../../src/worker/auth/grants";
import { hashPassword, parsePasswordHash, verifyPassword } from "../../../src/worker/auth/password";
import { parseAuthSettings } from "../../../src/worker/auth/settings";
import { verifyToken } from "../../../src/worker/auth/tokens";
import { hashPasswordCommand } from "../../../src/node/cli/hash-password";
import { tokenCommand } from "../../../src/node/cli/token";
import { authEnv, call, SECRET, users } from "../harness";

describe("AUTH_CONFIG checks", () => {
  const cfg = async (rules: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ users: await users(), rules, ...extra });

  it("accepts the documented shape", async () => {
    const s = parseAuthSettings({ AUTH_SIGNING_SECRET: SECRET, AUTH_CONFIG: await cfg([{ users: ["alice", "*", "anonymous"], repositories: ["a/*"], actions: ["*", "catalog"] }]) });
    expect(s.configured).toBe(true);
    expect(s.users.size).toBe(3);
    expect([...s.rules[0].grant[0].actions]).toEqual(["pull", "push", "delete"]);
    expect(s.rules[0].catalog).toBe(true);
  });

  it("refuses mistakes with a message naming them", async () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ AUTH_CONFIG: await cfg([]) }, /AUTH_SIGNING_SECRET/],
      [{ AUTH_CONFIG: "{not json", AUTH_SIGNING_SECRET: SECRET }, /not JSON/],
      [{ AUTH_CONFIG: await cfg([{ users: ["carol"], repositories: ["*"], actions: ["pull"] }]), AUTH_SIGNING_SECRET: SECRET }, /unknown user carol/],
      [{ AUTH_CONFIG: await cfg([{ users: ["alice"], repositories: ["*"], actions: ["write"] }]), AUTH_SIGNING_SECRET: SECRET }, /unknown action write/],
      [{ AUTH_CONFIG: await cfg([{ users: ["alice"], actions: ["pull"] }]), AUTH_SIGNING_SECRET: SECRET }, /names no repositories/],
      [{ AUTH_CONFIG: await cfg([{ users: ["alice"], repositories: ["Team/*"], actions: ["pull"] }]), AUTH_SIGNING_SECRET: SECRET }, /invalid repository pattern/],
      [{ AUTH_CONFIG: JSON.stringify({ users: { alice: "plaintext" } }), AUTH_SIGNING_SECRET: SECRET }, /pbkdf2-sha256/],
      [{ AUTH_SIGNING_SECRET: "short" }, /32 characters/],
      [{ AUTH_TOKEN_TTL_SECONDS: "-5" }, /AUTH_TOKEN_TTL_SECONDS/],
    ];
    for (const [env, msg] of bad) expect(() => parseAuthSettings(env)).toThrow(msg);
  });

  it("a broken configuration fails closed: registry routes answer 500, never open", async () => {
    const e = await authEnv({ AUTH_CONFIG: "{broken", AUTH_ANONYMOUS_PUSH: "true" });
    expect((await call(e, "GET", "/v2/any/thing/tags/list")).status).toBe(500);
    expect((await call(e, "POST", "/v2/any/thing/blobs/uploads/")).status).toBe(500);
  });
});

describe("patterns and scopes", () => {
  it("`*` matches any run of characters, slashes included; dots are literal", () => {
    expect(matches("team/*", "team/app")).toBe(true);
    expect(matches("team/*", "team/a/b")).toBe(true);
    expect(matches("team/*", "team")).toBe(false);
    expect(matches("team/*", "teams/app")).toBe(false);
    expect(matches("*", "x")).toBe(true);
    expect(matches("a.b/*", "axb/c")).toBe(false);
    expect(matches("*/cache", "ci/build/cache")).toBe(true);
    expect(matches("team/app", "team/app2")).toBe(false);
  });

  it("parses Docker scopes, several per value, and ignores what is not a scope", () => {
    expect(parseScopes(["repository:a/b:pull,push registry:catalog:*", "repository(plugin):c:pull", "junk"])).toEqual([
      { type: "repository", name: "a/b", actions: ["pull", "push"] },
      { type: "registry", name: "catalog", actions: ["*"] },
      { type: "repository", name: "c", actions: ["pull"] },
    ]);
  });

  it("never grants a pattern or an invalid name asked for in a scope", () => {
    const all = { grants: [{ pattern: "*", actions: new Set(["pull", "push", "delete"] as const) }], catalog: false };
    expect(grantRequested(all, parseScopes(["repository:*:pull", "repository:UP:pull", "repository:ok:*"]))).toEqual([
      { type: "repository", name: "ok", actions: ["pull", "push", "delete"] },
    ]);
  });

  it("reads TTLs", () => {
    expect(parseTtl("30d")).toBe(30 * 86400);
    expect(parseTtl("90m")).toBe(5400);
    expect(parseTtl("3600")).toBe(3600);
    for (const bad of ["0", "-1d", "1x", "", "d"]) expect(() => parseTtl(bad)).toThrow(/invalid TTL/);
  });
});

describe("passwords", () => {
  it("hash and verify round trip; another password or a tampered hash fails", async () => {
    const h = await hashPassword("correct horse", 1000);
    expect(h).toMatch(/^pbkdf2-sha256\$1000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword(parsePasswordHash(h), "correct horse")).toBe(true);
    expect(await verifyPassword(parsePasswordHash(h), "correct horse ")).toBe(false);
    expect(await verifyPassword(parsePasswordHash(h.replace("$1000$", "$1001$")), "correct horse")).toBe(false);
    expect(await hashPassword("correct horse", 1000)).not.toBe(h); // salted
    expect(() => parsePasswordHash(h.replace("$1000$", "$200000$"))).toThrow(/100000/);
  });
});

describe("commands", () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { env: { AUTH_SIGNING_SECRET: SECRET }, stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), readFile: async () => `${SECRET}\n` } };
  };

  it("token create prints a CI token the registry accepts, with its id on stderr", async () => {
    const t = io();
    expect(await tokenCommand(["create", "--repo", "ci/*", "--repo=cache/*", "--actions", "pull,push", "--ttl", "2h", "--name", "nightly"], t.io)).toBe(0);
    expect(t.out).toHaveLength(1);
    const v = await verifyToken(SECRET, t.out[0], "wharf", new Set());
    expect(v?.kind).toBe("ci");
    expect(v?.subject).toBe("ci:nightly");
    expect(v!.expiresAt - Date.now() / 1000).toBeGreaterThan(7190);
    expect(v!.permissions.grants.map((g) => g.pattern)).toEqual(["ci/*", "cache/*"]);
    expect(t.err[0]).toContain(v!.id);
  });

  it("token create reads --secret-file, and refuses bad arguments with usage", async () => {
    const t = io();
    expect(await tokenCommand(["create", "--repo", "x/*", "--actions", "pull", "--secret-file", "/s", "--json"], { ...t.io, env: {} })).toBe(0);
    expect(JSON.parse(t.out[0]).access).toEqual([{ type: "repository", name: "x/*", actions: ["pull"] }]);
    const u = io();
    expect(await tokenCommand(["create", "--repo", "x/*", "--actions", "fly"], u.io)).toBe(1);
    expect(u.err[0]).toContain("unknown action fly");
    expect(await tokenCommand(["create", "--bogus", "1"], u.io)).toBe(2);
    expect(await tokenCommand(["create", "--repo", "x/*", "--actions", "pull"], { ...u.io, env: {} })).toBe(1);
    expect(await tokenCommand(["list"], u.io)).toBe(2);
  });

  it("hash-password hashes stdin without its newline", async () => {
    const t = io();
    expect(await hashPasswordCommand(["--iterations", "1000"], "s3cret\n", t.io)).toBe(0);
    expect(await verifyPassword(parsePasswordHash(t.out[0]), "s3cret")).toBe(true);
    expect(await hashPasswordCommand([], "", t.io)).toBe(2);
  });
});
