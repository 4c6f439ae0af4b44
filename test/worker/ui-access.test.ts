/** Who sees what in the UI: anonymous visitors, signed-in users and CI tokens, private repositories, sessions, CSRF, deletes. */
import { describe, expect, it } from "vitest";
import { authEnv, basic, bearer, call, PASSWORDS, SECRET } from "./harness";
import { admin, alice, pushIndex, pushRichImage, setCookies, Visitor } from "./ui-helpers";
import { mintCiToken } from "../../src/worker/auth/ci-token";
import { seal, unseal } from "../../src/worker/ui/cursor";

async function registry(overrides: Record<string, string | undefined> = {}) {
  const e = await authEnv(overrides);
  await pushRichImage(e, "public/tool", "1.0", alice());
  await pushRichImage(e, "team/secret-app", "v1", alice());
  await pushRichImage(e, "team/secret-app", "v2", alice());
  return e;
}

describe("anonymous visitors", () => {
  it("see exactly the repositories anonymous callers may pull: private names appear nowhere, not even in counts or search", async () => {
    const e = await registry();
    const v = new Visitor(e);
    for (const path of ["/", "/?q=secret", "/?q=team", "/?q=app", "/getting-started", "/r/public/tool", "/r/public/tool:1.0"]) {
      const page = await v.html(path);
      expect(page, path).not.toContain("secret-app");
      expect(page, path).not.toContain("team/");
      expect(page, path).not.toContain("team%2F");
    }
    expect(await v.html("/")).toContain("public/tool");
    expect(await v.html("/?q=secret")).toContain("No repository you may see matches");
  });

  it("a private repository answers exactly like one that does not exist", async () => {
    const e = await registry();
    const v = new Visitor(e);
    const norm = (s: string, name: string) => s.replaceAll(name, "NAME").replaceAll(encodeURIComponent(name), "NAME");
    for (const [hidden, missing] of [
      ["/r/team/secret-app", "/r/team/nothing-here"],
      ["/r/team/secret-app:v1", "/r/team/nothing-here:v1"],
      ["/r/team/secret-app:v1/delete", "/r/team/nothing-here:v1/delete"],
    ]) {
      const a = await v.get(hidden);
      const b = await v.get(missing);
      expect(a.status).toBe(404);
      expect(b.status).toBe(404);
      expect(norm(await a.text(), "team/secret-app")).toBe(norm(await b.text(), "team/nothing-here"));
    }
    const csrf = await v.csrf("/sign-in");
    const del = await v.post("/r/team/secret-app:v1/delete", { csrf });
    expect(del.status).toBe(404);
    expect((await call(e, "GET", "/v2/team/secret-app/manifests/v1", { auth: alice() })).status).toBe(200);
  });

  it("see no delete buttons, and get a 404 or 403 page for deletes where anonymous callers may only pull", async () => {
    const e = await registry();
    const v = new Visitor(e);
    expect(await v.html("/r/public/tool")).not.toContain("Delete");
    expect(await v.html("/r/public/tool:1.0")).not.toContain("/delete");
    expect(await v.html("/r/public/tool:1.0/delete", 403)).toContain("you may not delete in public/tool");
  });

  it("list cursors past names they may not see are sealed: the name cannot be read from the link", async () => {
    const sealed = await seal(SECRET, "team/very-secret");
    expect(sealed).not.toContain("secret");
    expect(atob(sealed.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - (sealed.length % 4)) % 4))).not.toContain("secret");
    expect(await unseal(SECRET, sealed)).toBe("team/very-secret");
    expect(await unseal("another-secret-0123456789abcdef0123", sealed)).toBeNull();
    expect(await unseal(SECRET, "not-a-cursor-at-all-xxxxx")).toBeNull();
  });
});

describe("signing in", () => {
  it("with a password sets an HttpOnly, SameSite=Strict, Secure session cookie and shows private repositories", async () => {
    const e = await registry();
    const v = new Visitor(e);
    const res = await v.signIn("alice", PASSWORDS.alice);
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/");
    const set = setCookies(res).find((c) => c.startsWith("wharf_session="))!;
    expect(set).toMatch(/; Path=\/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure$/);
    const page = await v.html("/");
    expect(page).toContain("Signed in as <strong>alice</strong>");
    expect(page).toContain('<a href="/r/team/secret-app">team/secret-app</a>');
    expect(page).toContain("public/tool");
    expect(await v.html("/r/team/secret-app")).toContain(":v2\"");
  });

  it("on a loopback host the cookie is not Secure (plain HTTP in development)", async () => {
    const e = await registry();
    const page = await call(e, "GET", "http://127.0.0.1:8787/sign-in");
    const csrfCookie = setCookies(page)[0].split(";")[0];
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1];
    const res = await call(e, "POST", "http://127.0.0.1:8787/sign-in", {
      body: new URLSearchParams({ csrf, username: "alice", password: PASSWORDS.alice }).toString(),
      headers: { Cookie: csrfCookie, "Content-Type": "application/x-www-form-urlencoded", Origin: "http://127.0.0.1:8787" },
    });
    expect(res.status).toBe(303);
    const set = setCookies(res).find((c) => c.startsWith("wharf_session="))!;
    expect(set).toContain("HttpOnly; SameSite=Strict");
    expect(set).not.toContain("Secure");
  });

  it("a wrong password gets the form again with 401 and no session; next= only returns to our own paths", async () => {
    const e = await registry();
    const v = new Visitor(e);
    const res = await v.signIn("alice", "wrong");
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("Wrong user name, password or token.");
    expect(v.jar.has("wharf_session")).toBe(false);
    const csrf = await v.csrf("/sign-in");
    const ok = await v.post("/sign-in?next=%2F%2Fevil.test%2F", { csrf, username: "alice", password: PASSWORDS.alice });
    expect(ok.headers.get("Location")).toBe("/");
    const v2 = new Visitor(e);
    const c2 = await v2.csrf("/sign-in?next=%2Fr%2Fteam%2Fsecret-app");
    const back = await v2.post("/sign-in?next=%2Fr%2Fteam%2Fsecret-app", { csrf: c2, username: "alice", password: PASSWORDS.alice });
    expect(back.headers.get("Location")).toBe("/r/team/secret-app");
  });

  it("with a CI token shows what the token may pull, and revoking the token ends the session", async () => {
    const e = await registry();
    const ci = await mintCiToken(SECRET, { repositories: ["team/*"], actions: ["pull"], ttlSeconds: 3600 });
    const v = new Visitor(e);
    const csrf = await v.csrf("/sign-in");
    expect((await v.post("/sign-in", { csrf, token: ci.token })).status).toBe(303);
    const page = await v.html("/");
    expect(page).toContain(`Signed in as <strong>CI token ${ci.id.slice(0, 8)}</strong>`);
    expect(page).toContain("team/secret-app");
    expect(await v.html("/r/team/secret-app:v1")).not.toContain("/delete");
    const revoked = new Visitor(await authEnv({ AUTH_REVOKED_TOKENS: ci.id }));
    for (const [k, val] of v.jar) revoked.jar.set(k, val);
    const after = await revoked.html("/");
    expect(after).not.toContain("team/secret-app");
    expect(after).toContain("Sign in");
  });

  it("the session cookie is no credential for the API, and a forged or expired one is ignored", async () => {
    const e = await registry();
    const v = new Visitor(e);
    await v.signIn("alice", PASSWORDS.alice);
    const session = v.jar.get("wharf_session")!;
    expect((await call(e, "GET", "/v2/team/secret-app/tags/list", { auth: bearer(session) })).status).toBe(401);
    expect((await call(e, "GET", "/v2/team/secret-app/tags/list", { headers: { Cookie: `wharf_session=${session}` } })).status).toBe(401);
    const forged = new Visitor(e);
    forged.jar.set("wharf_session", session.slice(0, -3) + "abc");
    expect(await forged.html("/")).not.toContain("team/secret-app");
    const otherSecret = new Visitor(await authEnv({ AUTH_SIGNING_SECRET: "a-different-signing-secret-0123456789" }));
    otherSecret.jar.set("wharf_session", session);
    expect(await otherSecret.html("/")).not.toContain("team/secret-app");
  });

  it("signing out clears the cookie", async () => {
    const e = await registry();
    const v = new Visitor(e);
    await v.signIn("alice", PASSWORDS.alice);
    const csrf = await v.csrf("/");
    const res = await v.post("/sign-out", { csrf });
    expect(res.status).toBe(303);
    expect(setCookies(res).some((c) => /^wharf_session=; .*Max-Age=0/.test(c))).toBe(true);
    expect(await v.html("/")).not.toContain("team/secret-app");
  });

  it("a registry without a signing secret has no sign-in, and everyone sees what anonymous callers see", async () => {
    const open = await authEnv({ AUTH_ANONYMOUS_PUSH: "true", AUTH_CONFIG: undefined });
    await pushRichImage(open, "plain/app", "v1", "");
    const e = await authEnv({ AUTH_CONFIG: undefined, AUTH_SIGNING_SECRET: undefined });
    const v = new Visitor(e);
    expect(await v.html("/sign-in")).toContain("no authentication configured");
    expect(await v.html("/")).toContain("plain/app");
  });
});

describe("CSRF and deletes", () => {
  it("a delete needs the confirmation form's token, from our own origin", async () => {
    const e = await registry();
    const v = new Visitor(e);
    await v.signIn("admin", PASSWORDS.admin);
    const confirm = await v.html("/r/team/secret-app:v1/delete");
    expect(confirm).toContain("<h1>Delete from team/secret-app?</h1>");
    expect(confirm).toContain('<form method="post" action="/r/team/secret-app:v1/delete">');
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm)![1];
    expect((await v.post("/r/team/secret-app:v1/delete", {})).status).toBe(403);
    expect((await v.post("/r/team/secret-app:v1/delete", { csrf: "x" + csrf.slice(1) })).status).toBe(403);
    expect((await v.post("/r/team/secret-app:v1/delete", { csrf }, { Origin: "https://evil.test" })).status).toBe(403);
    expect((await v.post("/r/team/secret-app:v1/delete", { csrf }, { "Sec-Fetch-Site": "cross-site" })).status).toBe(403);
    // another visitor's token is not this session's
    const other = new Visitor(e);
    await other.signIn("admin", PASSWORDS.admin);
    expect((await v.post("/r/team/secret-app:v1/delete", { csrf: await other.csrf("/") })).status).toBe(403);
    expect((await call(e, "GET", "/v2/team/secret-app/manifests/v1", { auth: admin() })).status).toBe(200);

    const res = await v.post("/r/team/secret-app:v1/delete", { csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/r/team/secret-app?deleted=tag+v1");
    expect(await v.html("/r/team/secret-app?deleted=tag+v1")).toContain("Deleted tag v1.");
    expect((await call(e, "GET", "/v2/team/secret-app/manifests/v1", { auth: admin() })).status).toBe(404);
    expect((await call(e, "GET", "/v2/team/secret-app/manifests/v2", { auth: admin() })).status).toBe(200);
  });

  it("sign-in itself needs the form's token (no login CSRF)", async () => {
    const e = await registry();
    const v = new Visitor(e);
    await v.html("/sign-in");
    const res = await v.post("/sign-in", { username: "alice", password: PASSWORDS.alice });
    expect(res.status).toBe(403);
    expect(v.jar.has("wharf_session")).toBe(false);
  });

  it("deleting a manifest by digest removes every tag pointing at it; its index page offers both deletes", async () => {
    const e = await registry();
    const idx = await pushIndex(e, "team/multi", "latest", alice());
    await call(e, "PUT", `/v2/team/multi/manifests/stable`, {
      auth: alice(),
      body: await (await call(e, "GET", "/v2/team/multi/manifests/latest", { auth: alice() })).text(),
      headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" },
    });
    const v = new Visitor(e);
    await v.signIn("admin", PASSWORDS.admin);
    const page = await v.html("/r/team/multi:latest");
    expect(page).toContain('href="/r/team/multi:latest/delete">Delete tag latest…</a>');
    expect(page).toContain(`href="/r/team/multi@${idx.digest}/delete">Delete this manifest…</a>`);
    const confirm = await v.html(`/r/team/multi@${idx.digest}/delete`);
    expect(confirm).toContain("and every tag pointing at it");
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm)![1];
    const res = await v.post(`/r/team/multi@${idx.digest}/delete`, { csrf });
    expect(res.status).toBe(303);
    const tags = (await (await call(e, "GET", "/v2/team/multi/tags/list", { auth: admin() })).json()) as { tags: string[] };
    expect(tags.tags).toEqual([]);
    expect((await call(e, "GET", `/v2/team/multi/manifests/${idx.amd}`, { auth: admin() })).status).toBe(200);
  });

  it("users who may pull but not delete see no delete links and get 403; DELETE_ENABLED=false hides them for everyone", async () => {
    const e = await registry();
    const bob = new Visitor(e);
    await bob.signIn("bob", PASSWORDS.bob);
    expect(await bob.html("/r/team/secret-app")).not.toContain("Delete");
    expect(await bob.html("/r/team/secret-app:v1/delete", 403)).toContain("you may not delete in team/secret-app");
    const noDeletes = await authEnv({ DELETE_ENABLED: "false" });
    const adminV = new Visitor(noDeletes);
    await adminV.signIn("admin", PASSWORDS.admin);
    expect(await adminV.html("/r/team/secret-app")).not.toContain("Delete");
    expect(await adminV.html("/r/team/secret-app:v2/delete", 405)).toContain("deletes are disabled");
  });

  it("an open registry (AUTH_ANONYMOUS_PUSH=true) lets anonymous visitors delete, still through the CSRF-checked form", async () => {
    const e = await authEnv({ AUTH_ANONYMOUS_PUSH: "true", AUTH_CONFIG: undefined });
    await pushRichImage(e, "open/app", "v1", "");
    const v = new Visitor(e);
    const csrf = await v.csrf("/r/open/app:v1/delete");
    expect((await v.post("/r/open/app:v1/delete", { csrf }, { Origin: "https://evil.test" })).status).toBe(403);
    const res = await v.post("/r/open/app:v1/delete", { csrf });
    expect(res.status).toBe(303);
    expect(await v.html(res.headers.get("Location")!)).toContain("Deleted tag v1.");
    expect(await v.html("/r/open/app")).toContain("This repository has no tags");
  });
});

void basic;
