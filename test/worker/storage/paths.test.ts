import { describe, expect, it } from "vitest";
import { parseDigest } from "../../../src/oci/grammar";
import { parseBlobIndexKey, parseRepoKey, paths } from "../../../src/worker/storage/paths";

const A = parseDigest(`sha256:${"a".repeat(64)}`);
const B = parseDigest(`sha512:${"b".repeat(128)}`);

describe("path spec", () => {
  it.each([
    [paths.blobIndex(A), `blobs/sha256/${"a".repeat(64)}`],
    [paths.blobIndex(B), `blobs/sha512/${"b".repeat(128)}`],
    [paths.data("x1"), "data/x1"],
    [paths.layerLink("team/app", A), `repositories/team/app/_layers/sha256/${"a".repeat(64)}`],
    [paths.manifest("team/app", A), `repositories/team/app/_manifests/revisions/sha256/${"a".repeat(64)}`],
    [paths.tag("team/app", "v1"), "repositories/team/app/_manifests/tags/v1"],
    [paths.tagsPrefix("team/app"), "repositories/team/app/_manifests/tags/"],
    [paths.tagged("app", A, "v1"), `repositories/app/_manifests/tagged/sha256/${"a".repeat(64)}/v1`],
    [paths.taggedPrefix("app", A), `repositories/app/_manifests/tagged/sha256/${"a".repeat(64)}/`],
    [paths.referrer("app", A, B), `repositories/app/_referrers/sha256/${"a".repeat(64)}/sha512/${"b".repeat(128)}`],
    [paths.referrersPrefix("app", A), `repositories/app/_referrers/sha256/${"a".repeat(64)}/`],
    [paths.summary("team/app"), "repositories/team/app/_summary"],
    [paths.proxyTag("hub/library/alpine", "3"), "repositories/hub/library/alpine/_proxy/tags/3"],
    [paths.proxyTagList("hub/library/alpine"), "repositories/hub/library/alpine/_proxy/taglist"],
    [paths.proxyPulled("hub/x", A), `repositories/hub/x/_proxy/pulled/sha256/${"a".repeat(64)}`],
    [paths.proxyPulledPrefix("hub/x"), "repositories/hub/x/_proxy/pulled/"],
    [paths.catalogEntry("team/app"), "_catalog/team/app"],
    [paths.catalogPrefix(), "_catalog/"],
    [paths.blobsPrefix(), "blobs/"],
    [paths.dataPrefix(), "data/"],
    [paths.repositoriesPrefix(), "repositories/"],
    [paths.gcActive(), "_gc/active"],
  ])("%s", (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it("a nested repository's keys never fall under its parent's listing prefixes", () => {
    expect(paths.tag("a/b", "t").startsWith(paths.tagsPrefix("a"))).toBe(false);
    expect(paths.referrer("a/b", A, A).startsWith(paths.referrersPrefix("a", A))).toBe(false);
  });

  it("new data keys are unique", () => {
    expect(paths.newData()).not.toBe(paths.newData());
  });

  it("keys under repositories/ and blobs/ read back into what built them (garbage collection's inventory)", () => {
    // Digests compare by their text (the objects carry a toString closure).
    const text = (k: ReturnType<typeof parseRepoKey>) =>
      k && Object.fromEntries(Object.entries(k).map(([f, v]) => [f, typeof v === "object" ? String(v) : v]));
    expect(text(parseRepoKey(paths.layerLink("team/app", A)))).toEqual({ repo: "team/app", kind: "layer", digest: String(A) });
    expect(text(parseRepoKey(paths.manifest("a/b/c", B)))).toEqual({ repo: "a/b/c", kind: "revision", digest: String(B) });
    expect(text(parseRepoKey(paths.tag("app", "v1.0_x")))).toEqual({ repo: "app", kind: "tag", tag: "v1.0_x" });
    expect(text(parseRepoKey(paths.tagged("app", A, "v1")))).toEqual({ repo: "app", kind: "tagged", digest: String(A), tag: "v1" });
    expect(text(parseRepoKey(paths.referrer("app", A, B)))).toEqual({ repo: "app", kind: "referrer", subject: String(A), referrer: String(B) });
    expect(text(parseRepoKey(paths.proxyPulled("hub/x", B)))).toEqual({ repo: "hub/x", kind: "pulled", digest: String(B) });
    expect(parseRepoKey(paths.proxyTag("hub/x", "v1"))).toBeNull();
    expect(parseRepoKey("repositories/app/_uploads/x")).toBeNull();
    expect(parseRepoKey(paths.summary("app"))).toBeNull(); // garbage collection leaves it alone
    expect(parseRepoKey(paths.catalogEntry("app"))).toBeNull();
    expect(String(parseBlobIndexKey(paths.blobIndex(B)))).toBe(String(B));
    expect(parseBlobIndexKey("blobs/sha256/not-hex")).toBeNull();
  });
});
