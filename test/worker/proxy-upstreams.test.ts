// The UPSTREAMS setting and repository name resolution (prefixes, Docker Hub's library/, the mirror).
import { describe, expect, it } from "vitest";
import { RegistryError } from "../../src/worker/errors";
import { mirrorTarget, prefixTarget } from "../../src/worker/proxy/resolve";
import { parseUpstreams } from "../../src/worker/proxy/upstreams";

const parse = (v: unknown) => parseUpstreams(typeof v === "string" ? v : JSON.stringify(v));

describe("UPSTREAMS", () => {
  it("parses prefixes, credentials, TTLs, the mirror and repository patterns", () => {
    const [hub, ghcr] = parse([
      { prefix: "hub", url: "https://docker.io", mirror: true },
      { prefix: "mirrors/ghcr", url: "https://ghcr.io/", username: "me", password: "tok", tagTtlSeconds: 60, repositories: ["myorg/*"] },
    ]);
    expect(hub).toEqual({ prefix: "hub", url: "https://registry-1.docker.io", username: undefined, password: undefined, tagTtlSeconds: 300, mirror: true, repositories: undefined, library: true });
    expect(ghcr).toMatchObject({ prefix: "mirrors/ghcr", url: "https://ghcr.io", username: "me", password: "tok", tagTtlSeconds: 60, mirror: false, library: false, repositories: ["myorg/*"] });
    expect(parse("")).toEqual([]);
  });

  it.each([
    ["{", /JSON/],
    [{ prefix: "hub" }, /array/],
    [[{ url: "https://x.io" }], /prefix must be a repository name/],
    [[{ prefix: "Hub", url: "https://x.io" }], /prefix/],
    [[{ prefix: "hub", url: "ftp://x.io" }], /http\(s\)/],
    [[{ prefix: "hub", url: "https://x.io/v2" }], /no path/],
    [[{ prefix: "hub", url: "not a url" }], /not a URL/],
    [[{ prefix: "hub", url: "https://x.io", username: "a" }], /username and password/],
    [[{ prefix: "hub", url: "https://x.io", tagTtlSeconds: -1 }], /tagTtlSeconds/],
    [[{ prefix: "hub", url: "https://x.io", mirror: "yes" }], /mirror must be/],
    [[{ prefix: "hub", url: "https://x.io", repositories: ["A B"] }], /repositories/],
    [[{ prefix: "hub", url: "https://x.io", color: "red" }], /unknown field "color"/],
    [[{ prefix: "a", url: "https://x.io", mirror: true }, { prefix: "b", url: "https://y.io", mirror: true }], /at most one upstream may be the mirror/],
    [[{ prefix: "a", url: "https://x.io" }, { prefix: "a/b", url: "https://y.io" }], /not nested/],
    [[{ prefix: "a", url: "https://x.io" }, { prefix: "a", url: "https://y.io" }], /distinct/],
  ])("refuses %j", (value, message) => {
    expect(() => parse(value)).toThrow(message);
  });
});

describe("name resolution", () => {
  const ups = parse([
    { prefix: "hub", url: "https://registry-1.docker.io", mirror: true, repositories: ["library/*", "bitnami/*"] },
    { prefix: "ghcr", url: "https://ghcr.io" },
    { prefix: "ghcr-team", url: "https://ghcr.io" },
  ]);

  it("maps a prefix onto the upstream repository and the cache repository", () => {
    expect(prefixTarget(ups, "ghcr/org/app")).toMatchObject({ repo: "org/app", cacheRepo: "ghcr/org/app", upstream: { prefix: "ghcr" } });
    expect(prefixTarget(ups, "ghcr-team/app")).toMatchObject({ repo: "app", cacheRepo: "ghcr-team/app" });
    expect(prefixTarget(ups, "ghcr")).toBeNull();
    expect(prefixTarget(ups, "local/app")).toBeNull();
  });

  it("follows Docker Hub's library/ convention, so hub/alpine and hub/library/alpine share one cache", () => {
    expect(prefixTarget(ups, "hub/alpine")).toMatchObject({ repo: "library/alpine", cacheRepo: "hub/library/alpine" });
    expect(prefixTarget(ups, "hub/library/alpine")).toMatchObject({ repo: "library/alpine", cacheRepo: "hub/library/alpine" });
    expect(prefixTarget(ups, "ghcr/alpine")).toMatchObject({ repo: "alpine" }); // not Docker Hub: no library/
  });

  it("sends names under no prefix to the mirror", () => {
    expect(mirrorTarget(ups, "library/alpine")).toMatchObject({ repo: "library/alpine", cacheRepo: "hub/library/alpine" });
    expect(mirrorTarget(ups, "alpine")).toMatchObject({ repo: "library/alpine" });
    expect(mirrorTarget(parse([{ prefix: "x", url: "https://x.io" }]), "alpine")).toBeNull();
  });

  it("refuses upstream repositories outside the repositories patterns with DENIED", () => {
    expect(prefixTarget(ups, "hub/bitnami/redis")).toMatchObject({ repo: "bitnami/redis" });
    let err: unknown;
    try {
      prefixTarget(ups, "hub/someone/thing");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe("DENIED");
    expect((err as RegistryError).message).toMatch(/hub \(https:\/\/registry-1\.docker\.io\).*someone\/thing/);
  });
});
