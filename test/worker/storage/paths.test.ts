import { describe, expect, it } from "vitest";
import { parseDigest } from "../../../src/oci/grammar";
import { paths } from "../../../src/worker/storage/paths";

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
    [paths.proxyTag("hub/library/alpine", "3"), "repositories/hub/library/alpine/_proxy/tags/3"],
    [paths.proxyTagList("hub/library/alpine"), "repositories/hub/library/alpine/_proxy/taglist"],
    [paths.proxyPulled("hub/x", A), `repositories/hub/x/_proxy/pulled/sha256/${"a".repeat(64)}`],
    [paths.proxyPulledPrefix("hub/x"), "repositories/hub/x/_proxy/pulled/"],
    [paths.catalogEntry("team/app"), "_catalog/team/app"],
    [paths.catalogPrefix(), "_catalog/"],
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
});
