import { describe, expect, it } from "vitest";
import { expectError, req } from "./helpers";

describe("GET /v2/", () => {
  it("answers 200 with the API version header", async () => {
    const res = await req("GET", "/v2/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  });

  it("unknown routes get a JSON 404, not a 500", async () => {
    const res = await req("GET", "/nope");
    expect(res.headers.get("Content-Type")).toBe("application/json");
    await expectError(res, 404, "NAME_UNKNOWN");
  });

  it("a known path with an unsupported method is 405 UNSUPPORTED with Allow", async () => {
    const res = await req("PUT", `/v2/a/blobs/sha256:${"a".repeat(64)}`);
    expect(res.headers.get("Allow")).toContain("GET");
    await expectError(res, 405, "UNSUPPORTED");
    await expectError(await req("POST", "/v2/a/manifests/latest"), 405, "UNSUPPORTED");
  });

  it("a bad repository name is NAME_INVALID", async () => {
    await expectError(await req("GET", "/v2/UPPER/tags/list"), 400, "NAME_INVALID");
    await expectError(await req("GET", "/v2/a//b/tags/list"), 400, "NAME_INVALID");
    await expectError(await req("GET", `/v2/${"a".repeat(256)}/tags/list`), 400, "NAME_INVALID");
  });
});
