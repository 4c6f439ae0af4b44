// Deployment settings, exercised by calling the Worker's fetch handler with a modified environment.
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/worker/index";
import type { Env } from "../../src/worker/config";
import { BASE, expectError, pushImage, pushBlob, randomBytes, sha256 } from "./helpers";

function call(overrides: Partial<Env>, method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return worker.fetch(new Request(BASE + path, { method, ...init }), { ...(env as unknown as Env), ...overrides }, createExecutionContext());
}

describe("DELETE_ENABLED=false", () => {
  it("answers every delete with 405 UNSUPPORTED and deletes nothing", async () => {
    const { digest, layer } = await pushImage("set/nodel", "v1");
    const off = { DELETE_ENABLED: "false" };
    await expectError(await call(off, "DELETE", `/v2/set/nodel/manifests/${digest}`), 405, "UNSUPPORTED");
    await expectError(await call(off, "DELETE", "/v2/set/nodel/manifests/v1"), 405, "UNSUPPORTED");
    await expectError(await call(off, "DELETE", `/v2/set/nodel/blobs/${layer}`), 405, "UNSUPPORTED");
    expect((await call({}, "HEAD", "/v2/set/nodel/manifests/v1")).status).toBe(200);
    expect((await call({}, "HEAD", `/v2/set/nodel/blobs/${layer}`)).status).toBe(200);
  });
});

describe("BLOB_REDIRECT=false", () => {
  it("streams blob bytes from the Worker, with Range", async () => {
    const data = randomBytes(2048);
    const digest = await pushBlob("set/stream", data);
    const res = await call({ BLOB_REDIRECT: "false" }, "GET", `/v2/set/stream/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("2048");
    expect(await sha256(new Uint8Array(await res.arrayBuffer()))).toBe(digest);
    const part = await call({ BLOB_REDIRECT: "false" }, "GET", `/v2/set/stream/blobs/${digest}`, { headers: { Range: "bytes=0-9" } });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(data.slice(0, 10));
  });
});

describe("R2 S3 credentials", () => {
  it("redirect to a presigned R2 URL for the blob's data object", async () => {
    const digest = await pushBlob("set/presign", "presigned bytes");
    const creds = { R2_ACCESS_KEY_ID: "AKID", R2_SECRET_ACCESS_KEY: "SECRET", R2_ACCOUNT_ID: "acct", R2_BUCKET_NAME: "wharf" };
    const res = await call(creds, "GET", `/v2/set/presign/blobs/${digest}`);
    expect(res.status).toBe(307);
    const url = new URL(res.headers.get("Location")!);
    expect(url.host).toBe("acct.r2.cloudflarestorage.com");
    expect(url.pathname).toMatch(/^\/wharf\/data\/[0-9a-f-]{36}$/);
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^AKID\/\d{8}\/auto\/s3\/aws4_request$/);
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(url.searchParams.get("X-Amz-Expires"))).toBe(1800);
  });
});

describe("MAX_CHUNK_BYTES", () => {
  it("advertises OCI-Chunk-Max-Length and refuses larger bodies with 413 telling the client to chunk", async () => {
    const limit = { MAX_CHUNK_BYTES: "1000" };
    const post = await call(limit, "POST", "/v2/set/chunk/blobs/uploads/");
    expect(post.status).toBe(202);
    expect(post.headers.get("OCI-Chunk-Max-Length")).toBe("1000");
    const loc = post.headers.get("Location")!;
    const big = await call(limit, "PATCH", loc, { body: randomBytes(1001), headers: { "Content-Length": "1001" } });
    expect(big.status).toBe(413);
    const err = (await big.json()) as { errors: { code: string; message: string }[] };
    expect(err.errors[0].code).toBe("SIZE_INVALID");
    expect(err.errors[0].message).toMatch(/chunks/);
    const ok = await call(limit, "PATCH", loc, { body: randomBytes(1000), headers: { "Content-Length": "1000" } });
    expect(ok.status).toBe(202);
    expect(ok.headers.get("Range")).toBe("0-999");
    const mono = randomBytes(1500);
    expect((await call(limit, "POST", `/v2/set/chunk/blobs/uploads/?digest=${await sha256(mono)}`, { body: mono, headers: { "Content-Length": "1500" } })).status).toBe(413);
  });
});

describe("a malformed setting", () => {
  it("is answered with an error naming the setting, on every route, and changes nothing", async () => {
    const res = await call({ UPLOAD_PART_SIZE: "lots" }, "POST", "/v2/set/broken/blobs/uploads/");
    expect(res.status).toBe(500);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0].message).toMatch(/^registry misconfigured: setting UPLOAD_PART_SIZE expects a whole number/);
    expect((await call({ BLOB_REDIRECT: "perhaps" }, "GET", "/v2/")).status).toBe(500);
    expect((await call({}, "GET", "/v2/set/broken/tags/list")).status).toBe(404);
  });
});

describe("request pipeline", () => {
  it("gives every response a request id, and the API version header only under /v2", async () => {
    const api = await call({}, "GET", "/v2/");
    expect(api.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    expect(api.headers.get("Wharf-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    const other = await call({}, "GET", "/_wharf/blobs/sha256/00");
    expect(other.headers.get("Docker-Distribution-API-Version")).toBeNull();
    expect(other.headers.get("Wharf-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    const ray = await call({}, "GET", "/v2/", { headers: { "cf-ray": "8f0c0ffee-LHR" } });
    expect(ray.headers.get("Wharf-Request-Id")).toBe("8f0c0ffee-LHR");
  });
});
