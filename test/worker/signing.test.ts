import { describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oci/grammar";
import { signBlobPath, verifyBlobSignature, windowExpiry } from "../../src/worker/signing/blob-url";
import { timingSafeEqual } from "../../src/worker/signing/hmac";
import { presignUrl } from "../../src/worker/signing/sigv4";

describe("SigV4 query presigning", () => {
  // The published example of AWS's "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
  it("reproduces AWS's documented presigned GET example", async () => {
    const url = await presignUrl({
      method: "GET",
      host: "examplebucket.s3.amazonaws.com",
      path: "/test.txt",
      region: "us-east-1",
      service: "s3",
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      date: new Date("2013-05-24T00:00:00Z"),
      expiresSeconds: 86400,
    });
    expect(url).toBe(
      "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    );
  });
});

describe("signed blob URLs", () => {
  const d = parseDigest(`sha256:${"c".repeat(64)}`);

  it("expiry is cut on windows so URLs repeat within one", () => {
    expect(windowExpiry(1000, 900)).toBe(2700);
    expect(windowExpiry(1799, 900)).toBe(2700);
    expect(windowExpiry(1800, 900)).toBe(3600);
  });

  it("verifies its own signature until expiry, and nothing else", async () => {
    const path = await signBlobPath("k", d, 900, 1000);
    const q = new URL(path, "http://x").searchParams;
    expect(await verifyBlobSignature("k", d, q.get("exp"), q.get("sig"), 1000)).toBe(1700);
    await expect(verifyBlobSignature("other key", d, q.get("exp"), q.get("sig"), 1000)).rejects.toMatchObject({ kind: "SIGNATURE_INVALID" });
    await expect(verifyBlobSignature("k", d, q.get("exp"), q.get("sig"), 2700)).rejects.toMatchObject({ kind: "SIGNATURE_INVALID" });
    await expect(verifyBlobSignature("k", d, "2701", q.get("sig"), 1000)).rejects.toMatchObject({ kind: "SIGNATURE_INVALID" });
    await expect(verifyBlobSignature("k", d, null, null, 1000)).rejects.toMatchObject({ kind: "SIGNATURE_INVALID" });
  });

  it("timingSafeEqual compares whole strings", () => {
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "abcd")).toBe(false);
    expect(timingSafeEqual("", "")).toBe(true);
  });
});
