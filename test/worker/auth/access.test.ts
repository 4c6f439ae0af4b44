/** Who may do what without tokens: anonymous callers, Basic credentials, rules, and the defaults without settings. */
import { describe, expect, it } from "vitest";
import { authEnv, basic, call, challenge, errorCode, PASSWORDS, pushBlobAs, pushImageAs } from "../harness";

describe("anonymous callers on a configured registry", () => {
  it("GET /v2/ answers 401 with a Bearer challenge naming the token endpoint and service", async () => {
    const e = await authEnv();
    const res = await call(e, "GET", "/v2/");
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("UNAUTHORIZED");
    const ch = challenge(res);
    expect(ch.realm).toBe("http://registry.test/v2/token");
    expect(ch.service).toBe("wharf");
    expect(ch.scope).toBeUndefined();
  });

  it("a private pull gets 401 with the repository's pull scope, and nothing is revealed", async () => {
    const e = await authEnv();
    await pushImageAs(e, "team/app", "v1", basic("alice", PASSWORDS.alice));
    const res = await call(e, "GET", "/v2/team/app/manifests/v1");
    expect(res.status).toBe(401);
    expect(challenge(res).scope).toBe("repository:team/app:pull");
    expect(await call(e, "GET", "/v2/team/app/tags/list").then((r) => r.status)).toBe(401);
  });

  it("anonymous pull allowed by a rule works, anonymous push there is refused with a pull,push challenge", async () => {
    const e = await authEnv();
    const digest = await pushImageAs(e, "public/tool", "1.0", basic("alice", PASSWORDS.alice));
    const pulled = await call(e, "GET", "/v2/public/tool/manifests/1.0");
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get("Docker-Content-Digest")).toBe(digest);
    const { res } = await pushBlobAs(e, "public/tool", "sneaky");
    expect(res.status).toBe(401);
    expect(challenge(res).scope).toBe("repository:public/tool:pull,push");
    const del = await call(e, "DELETE", `/v2/public/tool/manifests/${digest}`);
    expect(del.status).toBe(401);
    expect(challenge(del).scope).toBe("repository:public/tool:delete");
    expect((await call(e, "GET", "/v2/public/tool/manifests/1.0")).status).toBe(200);
  });

  it("the catalog needs its own scope", async () => {
    const e = await authEnv();
    const res = await call(e, "GET", "/v2/_catalog");
    expect(res.status).toBe(401);
    expect(challenge(res).scope).toBe("registry:catalog:*");
    // alice may push and pull but has no catalog rule: authenticated, so 403
    expect(await call(e, "GET", "/v2/_catalog", { auth: basic("alice", PASSWORDS.alice) }).then((r) => r.status)).toBe(403);
    const ok = await call(e, "GET", "/v2/_catalog", { auth: basic("admin", PASSWORDS.admin) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { repositories: string[] }).repositories).toBeInstanceOf(Array);
  });
});

describe("Basic credentials sent straight to /v2/", () => {
  it("a user pushes and pulls where the rules allow", async () => {
    const e = await authEnv();
    const alice = basic("alice", PASSWORDS.alice);
    expect((await call(e, "GET", "/v2/", { auth: alice })).status).toBe(200);
    const digest = await pushImageAs(e, "team/web", "v1", alice);
    const res = await call(e, "GET", "/v2/team/web/manifests/v1", { auth: alice });
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  });

  it("a valid user outside the rules gets 403 DENIED and nothing is written", async () => {
    const e = await authEnv();
    const bob = basic("bob", PASSWORDS.bob);
    const { res, digest } = await pushBlobAs(e, "team/web", "bob was here", bob);
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("DENIED");
    const head = await call(e, "HEAD", `/v2/team/web/blobs/${digest}`, { auth: basic("admin", PASSWORDS.admin) });
    expect(head.status).toBe(404);
    // alice may push public/* but not delete there
    const del = await call(e, "DELETE", `/v2/public/x/blobs/${digest}`, { auth: basic("alice", PASSWORDS.alice) });
    expect(del.status).toBe(403);
  });

  it("wrong password and unknown user get the same 401 and the same message", async () => {
    const e = await authEnv();
    const wrong = await call(e, "GET", "/v2/team/web/tags/list", { auth: basic("alice", "not-her-password") });
    const unknown = await call(e, "GET", "/v2/team/web/tags/list", { auth: basic("mallory", "whatever") });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.headers.get("WWW-Authenticate")).toBe(unknown.headers.get("WWW-Authenticate"));
    expect(await wrong.text()).toBe(await unknown.text());
  });

  it("bad credentials are refused even where anonymous callers may read", async () => {
    const e = await authEnv();
    await pushImageAs(e, "public/lib", "1", basic("alice", PASSWORDS.alice));
    expect((await call(e, "GET", "/v2/public/lib/manifests/1", { auth: basic("alice", "nope") })).status).toBe(401);
    expect((await call(e, "GET", "/v2/public/lib/manifests/1", { auth: "Digest foo" })).status).toBe(401);
    expect((await call(e, "GET", "/v2/public/lib/manifests/1", { auth: "Basic %%%" })).status).toBe(401);
  });

  it("a user's password is not accepted for another user", async () => {
    const e = await authEnv();
    expect((await call(e, "GET", "/v2/", { auth: basic("bob", PASSWORDS.alice) })).status).toBe(401);
  });
});

describe("defaults", () => {
  it("no auth settings at all (production default): anyone pulls, pushes are refused with a clear 403", async () => {
    const open = await authEnv({ AUTH_ANONYMOUS_PUSH: "true", AUTH_CONFIG: undefined });
    const digest = await pushImageAs(open, "plain/app", "v1");
    const e = await authEnv({ AUTH_CONFIG: undefined, AUTH_SIGNING_SECRET: undefined });
    expect((await call(e, "GET", "/v2/")).status).toBe(200);
    expect((await call(e, "GET", "/v2/plain/app/manifests/v1")).status).toBe(200);
    expect((await call(e, "GET", "/v2/_catalog")).status).toBe(200);
    const { res } = await pushBlobAs(e, "plain/app", "refused");
    expect(res.status).toBe(403);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0].code).toBe("DENIED");
    expect(body.errors[0].message).toContain("AUTH_ANONYMOUS_PUSH");
    expect((await call(e, "DELETE", `/v2/plain/app/manifests/${digest}`)).status).toBe(403);
    expect((await call(e, "PUT", "/v2/plain/app/manifests/v2", { body: "{}" })).status).toBe(403);
    // the token endpoint cannot work without a signing secret
    expect(await errorCode(await call(e, "GET", "/v2/token"))).toBe("UNSUPPORTED");
  });

  it("AUTH_ANONYMOUS_PUSH=true lets anyone push, and /v2/ answers 200", async () => {
    const e = await authEnv({ AUTH_ANONYMOUS_PUSH: "true", AUTH_CONFIG: undefined });
    expect((await call(e, "GET", "/v2/")).status).toBe(200);
    const { res } = await pushBlobAs(e, "anyone/app", "hello");
    expect(res.status).toBe(201);
  });

  it("a signing secret without AUTH_CONFIG (CI tokens only): anonymous push is challenged", async () => {
    const e = await authEnv({ AUTH_CONFIG: undefined });
    expect((await call(e, "GET", "/v2/")).status).toBe(401);
    const { res } = await pushBlobAs(e, "ci/app", "x");
    expect(res.status).toBe(401);
    expect(challenge(res).scope).toBe("repository:ci/app:pull,push");
  });
});

describe("caching of responses that needed credentials", () => {
  it("immutable content is public where anonymous callers may pull it, private where they may not", async () => {
    const e = await authEnv();
    const alice = basic("alice", PASSWORDS.alice);
    const pub = await pushImageAs(e, "public/cached", "1", alice);
    const priv = await pushImageAs(e, "team/cached", "1", alice);
    const anonymous = await call(e, "GET", `/v2/public/cached/manifests/${pub}`);
    expect(anonymous.headers.get("Cache-Control")).toMatch(/^public, max-age=31536000/);
    const withCreds = await call(e, "GET", `/v2/public/cached/manifests/${pub}`, { auth: alice });
    expect(withCreds.headers.get("Cache-Control")).toMatch(/^public/);
    const res = await call(e, "GET", `/v2/team/cached/manifests/${priv}`, { auth: alice });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("private, max-age=31536000, immutable");
    expect(await res.text()).toContain("schemaVersion");
  });
});
