// Domain errors become OCI errors in one place; R2 failures are recognized by R2's code.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/worker/domain-errors";
import { errorResponse, fromDomain } from "../../src/worker/errors";
import { R2_BAD_DIGEST, r2ErrorCode } from "../../src/worker/storage/r2-errors";

describe("errorResponse", () => {
  it("answers a domain error with its OCI code, status, message and detail", async () => {
    const res = errorResponse(new DomainError("DIGEST_MISMATCH", "no match", { detail: { digest: "sha256:x" } }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errors: [{ code: "DIGEST_INVALID", message: "no match", detail: { digest: "sha256:x" } }] });
  });

  it("keeps the offset out of the response unless the handler turns it into headers", async () => {
    const err = new DomainError("CHUNK_OUT_OF_ORDER", "chunk must start at offset 7", { offset: 7 });
    expect(errorResponse(err).headers.get("Range")).toBeNull();
    const res = errorResponse(fromDomain(err, { Range: "0-6" }));
    expect(res.status).toBe(416);
    expect(res.headers.get("Range")).toBe("0-6");
  });

  it("an error that is neither a registry nor a domain error is 500 UNKNOWN without its message", async () => {
    const res = errorResponse(new Error("secret internals"));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("secret internals");
  });

  it("a domain error survives the plain form that crosses the upload session's RPC boundary", () => {
    const back = DomainError.fromPlain(structuredClone(new DomainError("CHUNK_NOT_STORED", "m", { offset: 5 }).toPlain()));
    expect(back).toBeInstanceOf(DomainError);
    expect([back.kind, back.message, back.offset]).toEqual(["CHUNK_NOT_STORED", "m", 5]);
  });
});

describe("r2ErrorCode", () => {
  it("reads R2's code from the local simulator's checksum failure", async () => {
    const err = await env.BUCKET.put("r2-errors/x", "abc", { sha256: "0".repeat(64) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(r2ErrorCode(err)).toBe(R2_BAD_DIGEST);
    expect(await env.BUCKET.head("r2-errors/x")).toBeNull();
  });

  it("prefers the `code` property production R2 errors carry, and is null for other errors", () => {
    expect(r2ErrorCode(Object.assign(new Error("put: something"), { code: 10037 }))).toBe(10037);
    expect(r2ErrorCode(new Error("checksum sha256 digest mismatch"))).toBeNull();
    expect(r2ErrorCode("10037")).toBeNull();
  });
});
