import { describe, expect, it } from "vitest";
import { OciFormatError } from "../../src/oci/errors";
import { isValidName, parseDigest, parseManifestReference, parseTag } from "../../src/oci/grammar";
import { asRegistryError } from "../../src/worker/errors";

const HEX64 = "a".repeat(64);

/** The OCI code the Worker answers the grammar's error with (the grammar itself knows no HTTP). */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OciFormatError);
    return asRegistryError(e)?.code;
  }
  return undefined;
}

describe("names", () => {
  it.each(["a", "a/b/c", "library/ubuntu", "a.b", "a_b", "a__b", "a---b", "0", "a/b-c.d_e"])("accepts %s", (n) => {
    expect(isValidName(n)).toBe(true);
  });
  it.each(["", "A", "a/", "/a", "a//b", "a..b", "a._b", "_a", "a/_b", "-a", "a-", "a b", "a".repeat(256)])("refuses %j", (n) => {
    expect(isValidName(n)).toBe(false);
  });
});

describe("tags", () => {
  it("accepts the spec grammar", () => {
    expect(parseTag("latest")).toBe("latest");
    expect(parseTag("_v1.2-rc_3")).toBe("_v1.2-rc_3");
    expect(parseTag("a".repeat(128))).toHaveLength(128);
  });
  it.each([".x", "-x", "a".repeat(129), "a/b", "a:b", ""])("refuses %j with TAG_INVALID", (t) => {
    expect(codeOf(() => parseTag(t))).toBe("TAG_INVALID");
  });
});

describe("digests", () => {
  it("parses sha256 and sha512", () => {
    expect(parseDigest(`sha256:${HEX64}`).toString()).toBe(`sha256:${HEX64}`);
    const d = parseDigest(`sha512:${"b".repeat(128)}`);
    expect(d.algorithm).toBe("sha512");
    expect(d.hex).toHaveLength(128);
  });
  it.each([
    `sha256:${"a".repeat(63)}`,
    `sha256:${"A".repeat(64)}`,
    `sha512:${HEX64}`,
    `md5:${"a".repeat(32)}`,
    "sha256",
    `sha256-${HEX64}`,
    `:${HEX64}`,
  ])("refuses %s with DIGEST_INVALID", (s) => {
    expect(codeOf(() => parseDigest(s))).toBe("DIGEST_INVALID");
  });
  it("a reference with a colon is a digest, else a tag", () => {
    expect(parseManifestReference(`sha256:${HEX64}`).digest?.hex).toBe(HEX64);
    expect(parseManifestReference("v1").tag).toBe("v1");
  });
});
