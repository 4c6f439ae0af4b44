/** Docker's token flow: the token endpoint, Bearer tokens on every route, forged and expired tokens, CI tokens. */
import { describe, expect, it } from "vitest";
import { mintCiToken } from "../../../src/worker/auth/ci-token";
import { signJwt } from "../../../src/worker/auth/jwt";
import { signToken } from "../../../src/worker/auth/tokens";
import { authEnv, basic, bearer, call, challenge, errorCode, getToken, PASSWORDS, pushBlobAs, pushImageAs, SECRET, sha256 } from "../harness";

const now = () => Math.floor(Date.now() / 1000);

describe("token endpoint", () => {
  it("answers token, access_token, expires_in, issued_at with the intersection of asked and allowed", async () => {
    const e = await authEnv();
    const { body, claims } = await getToken(
      e,
      ["repository:team/app:pull,push,delete", "repository:other/x:pull", "repository:public/y:pull registry:catalog:*"],
      basic("alice", PASSWORDS.alice),
    );
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    expect(Math.abs(Date.parse(body.issued_at) / 1000 - now())).toBeLessThan(5);
    expect(claims.sub).toBe("alice");
    expect(claims.aud).toBe("wharf");
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims.access).toEqual([
      { type: "repository", name: "team/app", actions: ["pull", "push"] },
      { type: "repository", name: "public/y", actions: ["pull"] },
    ]);
  });

  it("anonymous callers get a token with what anonymous rules allow, nothing more", async () => {
    const e = await authEnv();
    const { claims } = await getToken(e, ["repository:public/y:pull,push", "repository:team/app:pull"]);
    expect(claims.sub).toBe("");
    expect(claims.access).toEqual([{ type: "repository", name: "public/y", actions: ["pull"] }]);
  });

  it("the catalog scope is granted only where a rule allows it", async () => {
    const e = await authEnv();
    const admin = await getToken(e, ["registry:catalog:*"], basic("admin", PASSWORDS.admin));
    expect(admin.claims.access).toEqual([{ type: "registry", name: "catalog", actions: ["*"] }]);
    expect((await call(e, "GET", "/v2/_catalog", { auth: bearer(admin.token) })).status).toBe(200);
    const alice = await getToken(e, ["registry:catalog:*"], basic("alice", PASSWORDS.alice));
    expect(alice.claims.access).toEqual([]);
    const res = await call(e, "GET", "/v2/_catalog", { auth: bearer(alice.token) });
    expect(res.status).toBe(401);
    expect(challenge(res).error).toBe("insufficient_scope");
  });

  it("wrong password and unknown user: the same 401 from the token endpoint", async () => {
    const e = await authEnv();
    const wrong = await call(e, "GET", "/v2/token?scope=repository:team/app:pull", { auth: basic("alice", "guess") });
    const unknown = await call(e, "GET", "/v2/token?scope=repository:team/app:pull", { auth: basic("nobody", "guess") });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.text()).toBe(await unknown.text());
    expect((await call(e, "GET", "/v2/token", { auth: "Bearer abc" })).status).toBe(401);
  });
});

describe("Bearer tokens on registry routes", () => {
  it("push and pull through the whole flow: session upload, manifest, redirect to a signed URL", async () => {
    const e = await authEnv();
    const { token } = await getToken(e, ["repository:team/flow:pull,push"], basic("alice", PASSWORDS.alice));
    const auth = bearer(token);
    expect((await call(e, "GET", "/v2/", { auth })).status).toBe(200);
    const start = await call(e, "POST", "/v2/team/flow/blobs/uploads/", { auth });
    expect(start.status).toBe(202);
    const layer = "layer bytes ".repeat(100);
    const patch = await call(e, "PATCH", start.headers.get("Location")!, {
      auth,
      body: layer,
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `0-${layer.length - 1}`, "Content-Length": String(layer.length) },
    });
    expect(patch.status).toBe(202);
    const digest = await sha256(layer);
    const put = await call(e, "PUT", `${patch.headers.get("Location")}?digest=${digest}`, { auth, headers: { "Content-Length": "0" } });
    expect(put.status).toBe(201);
    await pushImageAs(e, "team/flow", "v1", auth);
    expect((await call(e, "GET", "/v2/team/flow/manifests/v1", { auth })).status).toBe(200);
    const get = await call(e, "GET", `/v2/team/flow/blobs/${digest}`, { auth });
    expect(get.status).toBe(307);
    // the signed URL is the one thing reachable without credentials
    const signed = await call(e, "GET", get.headers.get("Location")!);
    expect(signed.status).toBe(200);
    expect(new TextDecoder().decode(await signed.arrayBuffer())).toBe(layer);
  });

  it("an expired signed blob URL is refused", async () => {
    const e = await authEnv();
    const { digest } = await pushBlobAs(e, "team/exp", "expiring", basic("alice", PASSWORDS.alice));
    const get = await call(e, "GET", `/v2/team/exp/blobs/${digest}`, { auth: basic("alice", PASSWORDS.alice) });
    const url = new URL(get.headers.get("Location")!);
    url.searchParams.set("exp", String(now() - 10));
    const res = await call(e, "GET", url.toString());
    expect(res.status).toBe(403);
    expect(await call(e, "GET", `/v2/team/exp/blobs/${digest}`).then((r) => r.status)).toBe(401);
  });

  it("a token for another repository, or for another action, gets 401 insufficient_scope and changes nothing", async () => {
    const e = await authEnv();
    const pullOnly = await getToken(e, ["repository:team/a:pull"], basic("alice", PASSWORDS.alice));
    const { res, digest } = await pushBlobAs(e, "team/a", "not allowed", bearer(pullOnly.token));
    expect(res.status).toBe(401);
    const ch = challenge(res);
    expect(ch.error).toBe("insufficient_scope");
    expect(ch.scope).toBe("repository:team/a:pull,push");
    const other = await call(e, "GET", "/v2/team/b/tags/list", { auth: bearer(pullOnly.token) });
    expect(other.status).toBe(401);
    expect(challenge(other).scope).toBe("repository:team/b:pull");
    expect((await call(e, "HEAD", `/v2/team/a/blobs/${digest}`, { auth: basic("alice", PASSWORDS.alice) })).status).toBe(404);
  });

  it("an expired token is refused", async () => {
    const e = await authEnv();
    const t = now() - 1000;
    const token = await signToken(SECRET, {
      iss: "wharf", aud: "wharf", sub: "alice", jti: "old", iat: t, exp: t + 300, kind: "access",
      access: [{ type: "repository", name: "team/app", actions: ["pull"] }],
    });
    const res = await call(e, "GET", "/v2/team/app/tags/list", { auth: bearer(token) });
    expect(res.status).toBe(401);
    expect(challenge(res).error).toBe("invalid_token");
  });

  it("forged tokens are refused: other key, edited claims, alg none, wrong audience", async () => {
    const e = await authEnv();
    const claims = {
      iss: "wharf", aud: "wharf", sub: "mallory", jti: "f1", iat: now(), exp: now() + 300, kind: "access" as const,
      access: [{ type: "repository", name: "team/app", actions: ["pull", "push"] }, { type: "repository", name: "team/never-pushed", actions: ["pull"] }],
    };
    const otherKey = await signToken("some-other-secret-0123456789abcdefghij", claims);
    const { token: real } = await getToken(e, ["repository:team/app:pull"], basic("bob", PASSWORDS.bob));
    const [h, , s] = real.split(".");
    const edited = `${h}.${btoa(JSON.stringify(claims)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}.${s}`;
    const none = `${btoa('{"alg":"none","typ":"JWT"}').replace(/=+$/, "")}.${edited.split(".")[1]}.`;
    const wrongAud = await signToken(SECRET, { ...claims, aud: "elsewhere" });
    // the same claims signed with the right key pass (404: no such repository), so each refusal below is the forgery's
    const genuine = await signJwt(SECRET, claims);
    expect((await call(e, "GET", "/v2/team/never-pushed/tags/list", { auth: bearer(genuine) })).status).toBe(404);
    for (const t of [otherKey, edited, none, wrongAud, "garbage"]) {
      const res = await call(e, "GET", "/v2/team/app/tags/list", { auth: bearer(t) });
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe("UNAUTHORIZED");
    }
  });

  it("cross-repository mount needs pull on the source", async () => {
    const e = await authEnv();
    const { digest } = await pushBlobAs(e, "secret/src", "mount me", basic("admin", PASSWORDS.admin));
    const { token } = await getToken(e, ["repository:team/dst:pull,push", "repository:secret/src:pull"], basic("alice", PASSWORDS.alice));
    const refused = await call(e, "POST", `/v2/team/dst/blobs/uploads/?mount=${digest}&from=secret/src`, { auth: bearer(token) });
    expect(refused.status).toBe(202); // no pull on the source: an upload session instead of a mount
    const { token: adminToken } = await getToken(e, ["repository:team/dst:push", "repository:secret/src:pull"], basic("admin", PASSWORDS.admin));
    const mounted = await call(e, "POST", `/v2/team/dst/blobs/uploads/?mount=${digest}&from=secret/src`, { auth: bearer(adminToken) });
    expect(mounted.status).toBe(201);
    // automatic mount (no from) needs pull everywhere: admin with Basic has it, alice does not
    const { digest: d2 } = await pushBlobAs(e, "secret/src", "auto mount", basic("admin", PASSWORDS.admin));
    const alice = await call(e, "POST", `/v2/team/dst2/blobs/uploads/?mount=${d2}`, { auth: basic("alice", PASSWORDS.alice) });
    expect(alice.status).toBe(202);
    const admin = await call(e, "POST", `/v2/team/dst2/blobs/uploads/?mount=${d2}`, { auth: basic("admin", PASSWORDS.admin) });
    expect(admin.status).toBe(201);
  });
});

describe("CI tokens", () => {
  const ci = (repositories: string[], actions: string[], ttlSeconds = 3600) => mintCiToken(SECRET, { repositories, actions, ttlSeconds, name: "build" });

  it("work as the password, straight on /v2/ and through the token endpoint, within their patterns", async () => {
    const e = await authEnv();
    const { token } = await ci(["ci/*"], ["pull", "push"]);
    const direct = basic("ci", token);
    await pushImageAs(e, "ci/app", "1", direct);
    expect((await call(e, "GET", "/v2/ci/app/manifests/1", { auth: direct })).status).toBe(200);
    const { claims, token: access } = await getToken(e, ["repository:ci/deep/tool:pull,push", "repository:team/app:pull"], basic("anything", token));
    expect(claims.access).toEqual([{ type: "repository", name: "ci/deep/tool", actions: ["pull", "push"] }]);
    expect(claims.sub).toBe("ci:build");
    await pushImageAs(e, "ci/deep/tool", "2", bearer(access));
    const outside = await pushBlobAs(e, "team/app", "no", direct);
    expect(outside.res.status).toBe(403);
    expect((await call(e, "DELETE", "/v2/ci/app/manifests/1", { auth: direct })).status).toBe(403);
    // also accepted as a Bearer token (for clients that skip the token endpoint)
    expect((await call(e, "GET", "/v2/ci/app/manifests/1", { auth: bearer(token) })).status).toBe(200);
    const denied = await call(e, "GET", "/v2/team/app/tags/list", { auth: bearer(token) });
    expect(denied.status).toBe(401);
    expect(challenge(denied).error).toBe("insufficient_scope");
  });

  it("an expired CI token is refused", async () => {
    const e = await authEnv();
    const { token } = await mintCiToken(SECRET, { repositories: ["ci/*"], actions: ["pull"], ttlSeconds: 60, now: now() - 120 });
    expect((await call(e, "GET", "/v2/ci/app/tags/list", { auth: basic("ci", token) })).status).toBe(401);
  });

  it("a revoked CI token is refused, and so are access tokens made from it", async () => {
    const e = await authEnv();
    const keep = await ci(["ci/*"], ["pull"]);
    const revoke = await ci(["ci/*"], ["pull"]);
    const { token: derived } = await getToken(e, ["repository:ci/app:pull"], basic("ci", revoke.token));
    const r = await authEnv({ AUTH_REVOKED_TOKENS: `someoldid, ${revoke.id}` });
    expect((await call(r, "GET", "/v2/ci/app/tags/list", { auth: basic("ci", revoke.token) })).status).toBe(401);
    expect((await call(r, "GET", "/v2/ci/app/tags/list", { auth: bearer(derived) })).status).toBe(401);
    expect((await call(r, "GET", "/v2/ci/app/tags/list", { auth: bearer(revoke.token) })).status).toBe(401);
    expect((await call(r, "GET", "/v2/token?scope=repository:ci/app:pull", { auth: basic("ci", revoke.token) })).status).toBe(401);
    expect((await call(r, "GET", "/v2/ci/never-pushed/tags/list", { auth: basic("ci", keep.token) })).status).toBe(404);
  });

  it("a CI token minted with another secret or for another service is refused", async () => {
    const e = await authEnv();
    const other = await mintCiToken("another-secret-0123456789abcdefghijkl", { repositories: ["ci/*"], actions: ["pull"], ttlSeconds: 60 });
    const svc = await mintCiToken(SECRET, { repositories: ["ci/*"], actions: ["pull"], ttlSeconds: 60, service: "other" });
    for (const t of [other.token, svc.token]) {
      expect((await call(e, "GET", "/v2/ci/app/tags/list", { auth: basic("ci", t) })).status).toBe(401);
    }
  });
});

describe("OAuth2 password grant (POST /v2/token, containerd and BuildKit)", () => {
  const form = (fields: Record<string, string>) => ({
    body: new URLSearchParams(fields).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });

  it("issues the same token as GET for a user or a CI token", async () => {
    const e = await authEnv();
    const res = await call(e, "POST", "/v2/token", form({
      grant_type: "password", username: "alice", password: PASSWORDS.alice, service: "wharf", client_id: "containerd-client",
      scope: "repository:team/oauth:pull,push repository:other/x:pull",
    }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string };
    const claims = JSON.parse(atob(body.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims.access).toEqual([{ type: "repository", name: "team/oauth", actions: ["pull", "push"] }]);
    const { digest } = await pushBlobAs(e, "team/oauth", "via oauth", bearer(body.access_token));
    expect((await call(e, "HEAD", `/v2/team/oauth/blobs/${digest}`, { auth: bearer(body.access_token) })).status).toBe(200);
    const { token } = await mintCiToken(SECRET, { repositories: ["ci/*"], actions: ["pull"], ttlSeconds: 60 });
    const ci = await call(e, "POST", "/v2/token", form({ grant_type: "password", username: "ci", password: token, scope: "repository:ci/a:pull" }));
    expect(ci.status).toBe(200);
  });

  it("refuses wrong passwords (401), other grants (405), other bodies (405) and oversized bodies (400)", async () => {
    const e = await authEnv();
    expect((await call(e, "POST", "/v2/token", form({ grant_type: "password", username: "alice", password: "x" }))).status).toBe(401);
    expect((await call(e, "POST", "/v2/token", form({ grant_type: "password", username: "ghost", password: "x" }))).status).toBe(401);
    expect((await call(e, "POST", "/v2/token", form({ grant_type: "refresh_token", refresh_token: "r" }))).status).toBe(405);
    expect((await call(e, "POST", "/v2/token", { body: "{}", headers: { "Content-Type": "application/json" } })).status).toBe(405);
    const big = await call(e, "POST", "/v2/token", form({ grant_type: "password", username: "a", password: "p".repeat(70_000) }));
    expect(await errorCode(big)).toBe("SIZE_INVALID");
    const chunked = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < 20; i++) ctl.enqueue(new TextEncoder().encode("x".repeat(8192)));
        ctl.close();
      },
    });
    const streamed = await call(e, "POST", "/v2/token", { body: chunked, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(streamed.status).toBe(400);
  });
});
