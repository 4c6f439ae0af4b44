// Conditional requests (issue 10, defect 9): manifest and blob GET/HEAD answer 304 when If-None-Match
// names their ETag, and 200 otherwise.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/worker/config";
import { noneMatchHits } from "../../src/worker/http/conditional";
import { call } from "./harness";
import { pushBlob, pushImage, req } from "./harness";

describe("If-None-Match", () => {
  it("manifest GET and HEAD, by tag and by digest: 304 on a match, 200 on another ETag", async () => {
    const { digest, body } = await pushImage("cond/m", "v1");
    for (const ref of ["v1", digest]) {
      for (const method of ["GET", "HEAD"]) {
        const hit = await req(method, `/v2/cond/m/manifests/${ref}`, { headers: { "If-None-Match": `"${digest}"` } });
        expect(hit.status).toBe(304);
        expect(hit.headers.get("ETag")).toBe(`"${digest}"`);
        expect(hit.headers.get("Docker-Content-Digest")).toBe(digest);
        expect(await hit.text()).toBe("");
        const miss = await req(method, `/v2/cond/m/manifests/${ref}`, { headers: { "If-None-Match": `"sha256:${"0".repeat(64)}"` } });
        expect(miss.status).toBe(200);
        if (method === "GET") expect(await miss.text()).toBe(body);
      }
    }
    const list = await req("GET", "/v2/cond/m/manifests/v1", { headers: { "If-None-Match": `"x", W/"${digest}"` } });
    expect(list.status).toBe(304);
    expect((await req("GET", "/v2/cond/m/manifests/v1", { headers: { "If-None-Match": "*" } })).status).toBe(304);
  });

  it("a tag moved to another manifest no longer matches the old ETag", async () => {
    const one = await pushImage("cond/move", "t");
    const two = await pushImage("cond/move", "u");
    await req("PUT", "/v2/cond/move/manifests/t", { body: two.body, headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } });
    const res = await req("GET", "/v2/cond/move/manifests/t", { headers: { "If-None-Match": `"${one.digest}"` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(two.digest);
  });

  it("blob HEAD and GET (redirecting or streaming, with or without Range): 304 on a match", async () => {
    const digest = await pushBlob("cond/b", "some blob bytes");
    const etag = `"${digest}"`;
    for (const method of ["GET", "HEAD"]) {
      const hit = await req(method, `/v2/cond/b/blobs/${digest}`, { headers: { "If-None-Match": etag } });
      expect(hit.status).toBe(304);
      expect(hit.headers.get("ETag")).toBe(etag);
      expect(hit.headers.get("Location")).toBeNull();
    }
    expect((await req("GET", `/v2/cond/b/blobs/${digest}`)).status).toBe(307);
    expect((await req("HEAD", `/v2/cond/b/blobs/${digest}`, { headers: { "If-None-Match": '"other"' } })).status).toBe(200);

    const streaming = { ...(env as unknown as Env), BLOB_REDIRECT: "false" } as Env;
    const hit = await call(streaming, "GET", `/v2/cond/b/blobs/${digest}`, { headers: { "If-None-Match": etag, Range: "bytes=0-3" } });
    expect(hit.status).toBe(304);
    expect(await hit.text()).toBe("");
    const miss = await call(streaming, "GET", `/v2/cond/b/blobs/${digest}`, { headers: { "If-None-Match": '"other"', Range: "bytes=0-3" } });
    expect(miss.status).toBe(206);
    expect(await miss.text()).toBe("some");
  });

  it("the signed blob URL honours If-None-Match too", async () => {
    const digest = await pushBlob("cond/s", "signed bytes");
    const location = (await req("GET", `/v2/cond/s/blobs/${digest}`)).headers.get("Location")!;
    expect((await req("GET", location, { headers: { "If-None-Match": `"${digest}"` } })).status).toBe(304);
    expect(await (await req("GET", location)).text()).toBe("signed bytes");
  });

  it.each([
    [null, false],
    ['"a"', true],
    ['W/"a"', true],
    [' "b" , "a" ', true],
    ["*", true],
    ['"b"', false],
    ["a", false],
  ])("If-None-Match %j against \"a\": %s", (header, hit) => {
    expect(noneMatchHits(header, '"a"')).toBe(hit);
  });
});
