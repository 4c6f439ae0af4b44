// Pure pieces of the client and CLI: references, challenges, Link and Range headers, sizes, jsonmessages.
import { describe, expect, it } from "vitest";
import { parseSize } from "../../src/node/cli/args";
import { normalizeHostKey } from "../../src/node/cli/credentials";
import { jsonRenderer } from "../../src/node/cli/progress";
import { parseChallenge } from "../../src/client/auth";
import { parseImageReference, registryBaseUrl } from "../../src/client/reference";
import { nextLink } from "../../src/client/registry";
import { clampChunkSize, offsetOf } from "../../src/client/upload";

describe("references", () => {
  it("parses host, repository, tag and digest", () => {
    expect(parseImageReference("127.0.0.1:8787/a/b:v1")).toEqual({ host: "127.0.0.1:8787", repository: "a/b", tag: "v1", digest: undefined });
    expect(parseImageReference(`localhost/x@sha256:${"a".repeat(64)}`)).toMatchObject({ host: "localhost", repository: "x", digest: `sha256:${"a".repeat(64)}` });
    expect(parseImageReference("reg.example.com/x")).toMatchObject({ tag: undefined });
    expect(() => parseImageReference("ubuntu:22.04")).toThrow(/registry host/);
    expect(() => parseImageReference("reg.example.com/Upper:x")).toThrow(/bad repository name/);
  });

  it("uses plain HTTP for loopback and --insecure, HTTPS otherwise", () => {
    expect(registryBaseUrl("127.0.0.1:8787")).toBe("http://127.0.0.1:8787");
    expect(registryBaseUrl("localhost")).toBe("http://localhost");
    expect(registryBaseUrl("reg.example.com")).toBe("https://reg.example.com");
    expect(registryBaseUrl("reg.example.com:5000", true)).toBe("http://reg.example.com:5000");
  });
});

describe("protocol headers", () => {
  it("parses Bearer and Basic challenges", () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "registry", scope: "repository:a/b:pull,push" },
    });
    expect(parseChallenge('Basic realm="wharf"')).toEqual({ scheme: "basic", params: { realm: "wharf" } });
  });

  it("follows rel=next Link targets", () => {
    expect(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"')).toBe("/v2/a/tags/list?n=2&last=b");
    expect(nextLink(null)).toBeNull();
    expect(nextLink('</x>; rel="prev"')).toBeNull();
  });

  it("reads session offsets and clamps chunk sizes to the advertised bounds", () => {
    expect(offsetOf("0-0")).toBe(0);
    expect(offsetOf("0-5242879")).toBe(5242880);
    expect(offsetOf(null)).toBeNull();
    expect(clampChunkSize(1 << 20, 5 << 20, null)).toBe(5 << 20);
    expect(clampChunkSize(64 << 20, 5 << 20, 100_000_000)).toBe(64 << 20);
    expect(clampChunkSize(200 << 20, null, 100_000_000)).toBe(100_000_000);
  });
});

describe("CLI pieces", () => {
  it("parses sizes", () => {
    expect(parseSize("16MiB")).toBe(16 << 20);
    expect(parseSize("5m")).toBe(5 << 20);
    expect(parseSize("100MB")).toBe(100_000_000);
    expect(parseSize("4096")).toBe(4096);
    expect(() => parseSize("lots")).toThrow(/bad size/);
  });

  it("normalises Docker config.json keys to hosts", () => {
    expect(normalizeHostKey("https://index.docker.io/v1/")).toBe("index.docker.io");
    expect(normalizeHostKey("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });

  it("prints Docker jsonmessage lines", () => {
    const lines: string[] = [];
    const r = jsonRenderer((s) => lines.push(s));
    r.status("The push refers to repository [h/r]");
    r.layer("abc", "Preparing");
    r.layer("abc", "Pushing", 10, 10);
    r.aux({ Tag: "v1", Digest: "sha256:x", Size: 1 });
    r.error("boom");
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed).toEqual([
      { status: "The push refers to repository [h/r]" },
      { status: "Preparing", progressDetail: {}, id: "abc" },
      { status: "Pushing", progressDetail: { current: 10, total: 10 }, progress: expect.stringContaining("10B/10B"), id: "abc" },
      { progressDetail: {}, aux: { Tag: "v1", Digest: "sha256:x", Size: 1 } },
      { errorDetail: { message: "boom" }, error: "boom" },
    ]);
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
  });
});
