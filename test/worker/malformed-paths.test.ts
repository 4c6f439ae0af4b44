// Malformed paths are a client's mistake: a 4xx with a code from the spec's table, never a 500 and never a
// code no client knows (issue 10, defects 2 and 3).
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import type { Env } from "../../src/worker/config";
import { call } from "./harness";
import { expectError, openSession, pushImage, req, sha256 } from "./harness";

describe("malformed percent-escapes", () => {
  it.each([
    ["a name", "/v2/a/bad%ff/tags/list", "NAME_INVALID"],
    ["a lone %", "/v2/a/b%/tags/list", "NAME_INVALID"],
    ["%zz", "/v2/a%zz/manifests/latest", "NAME_INVALID"],
    ["a truncated UTF-8 escape in a tag", "/v2/a/manifests/v1%E0%A4%A", "TAG_INVALID"],
    ["a lone % in a tag", "/v2/a/manifests/v1%", "TAG_INVALID"],
    ["a bad escape in a digest", `/v2/a/blobs/sha256:${"a".repeat(62)}%zz`, "DIGEST_INVALID"],
    ["a bad escape in a referrers digest", `/v2/a/referrers/sha256:%E0%A4`, "DIGEST_INVALID"],
  ])("in %s: 400, no 500", async (_what, path, code) => {
    const get = await req("GET", path);
    await expectError(get, 400, code);
    expect(get.headers.get("Content-Type")).toBe("application/json");
    expect(get.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    if (/\/(manifests|blobs)\//.test(path)) expect((await req("HEAD", path)).status).toBe(400);
  });

  it("on a manifest PUT: 400 and nothing stored", async () => {
    await expectError(await req("PUT", "/v2/a/manifests/v1%E0%A4%A", { body: "{}", headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" } }), 400, "TAG_INVALID");
  });

  it("on an upload-session URL: 400 BLOB_UPLOAD_INVALID, and the session is unharmed", async () => {
    const loc = await openSession("mal/up");
    for (const bad of [`${loc}%zz`, `${loc}%E0%A4%A`, `${loc}%`]) {
      await expectError(await req("PATCH", bad, { body: "abc", headers: { "Content-Length": "3" } }), 400, "BLOB_UPLOAD_INVALID");
      await expectError(await req("GET", bad), 400, "BLOB_UPLOAD_INVALID");
      await expectError(await req("PUT", `${bad}?digest=${await sha256("abc")}`), 400, "BLOB_UPLOAD_INVALID");
      await expectError(await req("DELETE", bad), 400, "BLOB_UPLOAD_INVALID");
    }
    const status = await req("GET", loc);
    expect(status.status).toBe(204);
    expect(status.headers.get("Range")).toBe("0-0");
  });
});

describe("spec codes only", () => {
  it.each([
    ["GET", "/v2/nope"],
    ["GET", "/v2/a/b/c"],
    ["GET", "/v2/a/blobs"],
    ["GET", "/v2/a/manifests/"],
    ["PUT", "/v2/a/unknown/thing"],
  ])("an unknown route under /v2/ (%s %s) is 404 NAME_UNKNOWN", async (method, path) => {
    const res = await req(method, path);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    await expectError(res, 404, "NAME_UNKNOWN");
  });

  it.each([
    ["..%2fetc", "/v2/..%2fetc/tags/list"],
    ["a%2f..%2fb", "/v2/a%2f..%2fb/manifests/latest"],
    ["a%2f%2e%2e", "/v2/a%2f%2e%2e/tags/list"],
  ])("a name like %s is 400 NAME_INVALID", async (_what, path) => {
    await expectError(await req("GET", path), 400, "NAME_INVALID");
  });

  // Dot segments, percent-encoded or not, are resolved by the URL parser (workerd's, and Cloudflare's edge)
  // before the Worker sees the request: "/v2/%2e%2e/etc/tags/list" arrives as "/etc/tags/list".
  it.each([
    ["%2e%2e/etc", "/v2/%2e%2e/etc/tags/list"],
    ["%2e", "/v2/%2e/tags/list"],
    ["%2E%2E", "/v2/%2E%2E/a/manifests/latest"],
  ])("a name like %s that URL rules resolve away is a 404 (a spec code while the path stays under /v2)", async (_what, path) => {
    const res = await req("GET", path);
    // Resolved out of /v2/ ("/etc/tags/list") the path belongs to the web UI: its HTML 404 page.
    if (!new URL(path, "http://x").pathname.startsWith("/v2/")) {
      expect(res.status).toBe(404);
      expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      return;
    }
    expect(res.headers.get("Content-Type")).toBe("application/json");
    await expectError(res, 404, "NAME_UNKNOWN");
  });

  it("a name whose dots resolve into another repository names that repository", async () => {
    const { digest } = await pushImage("mal/real", "v1");
    // "/v2/mal/x/%2e%2e/real/..." is resolved by URL rules to "/v2/mal/real/..." before the Worker sees it.
    const res = await req("GET", "/v2/mal/x/%2e%2e/real/manifests/v1");
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  });

  it("a signed blob URL on a registry that does not sign is 404 BLOB_UNKNOWN", async () => {
    const e = { ...(env as unknown as Env), BLOB_URL_SECRET: undefined } as Env;
    const res = await call(e, "GET", `/_wharf/blobs/sha256/${"a".repeat(64)}?exp=1&sig=x`);
    await expectError(res, 404, "BLOB_UNKNOWN");
  });
});
