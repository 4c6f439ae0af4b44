/**
 * Retention policies and immutable tags, with the rules vitest.config.ts sets:
 *   RETENTION       retain/last/*: keepLast 2; retain/old/*: olderThanSeconds 0, keep latest and v*;
 *                   retain/untagged/*: untaggedOlderThanSeconds 0
 *   IMMUTABLE_TAGS  locked/*: v*; retain/*: release-*
 */
import { describe, expect, it } from "vitest";
import { blobStored, putImageManifest, runGc } from "./gc-helpers";
import { expectError, OCI_INDEX, pushBlob, pushImage, randomBytes, req } from "./harness";

async function tags(repo: string): Promise<string[]> {
  const res = await req("GET", `/v2/${repo}/tags/list`);
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

/** Tags pushed one after another, so their push times are in this order. */
async function pushTags(repo: string, names: string[]): Promise<Record<string, Awaited<ReturnType<typeof pushImage>>>> {
  const out: Record<string, Awaited<ReturnType<typeof pushImage>>> = {};
  for (const t of names) {
    out[t] = await pushImage(repo, t, { annotations: { t, n: crypto.randomUUID() } });
    await new Promise((r) => setTimeout(r, 15));
  }
  return out;
}

describe("retention", () => {
  it("keepLast keeps the newest tags by push time; the rest go, their manifests stay (no untagged rule)", async () => {
    const imgs = await pushTags("retain/last/app", ["a", "b", "c", "d"]);
    const report = await runGc();
    expect(await tags("retain/last/app")).toEqual(["c", "d"]);
    expect(report.removed.tags).toBe(2);
    expect(report.examples.tags).toEqual(expect.arrayContaining(["retain/last/app:a", "retain/last/app:b"]));
    expect((await req("GET", `/v2/retain/last/app/manifests/${imgs.a.digest}`)).status).toBe(200);
    expect(await blobStored("retain/last/app", imgs.a.layer)).toEqual({ index: true, data: true, link: true });
  });

  it("olderThanSeconds drops old tags but never keep patterns or immutable tags", async () => {
    await pushTags("retain/old/app", ["latest", "v1.2", "feature-x", "release-7", "nightly"]);
    const dry = await runGc({ dryRun: true });
    expect(dry.removed.tags).toBe(2);
    expect(await tags("retain/old/app")).toHaveLength(5); // the dry run changed nothing
    await runGc();
    expect(await tags("retain/old/app")).toEqual(["latest", "release-7", "v1.2"]);
  });

  it("untaggedOlderThanSeconds drops untagged manifests and their blobs, keeping index children and referrers of kept manifests", async () => {
    const repo = "retain/untagged/app";
    const tagged = await pushImage(repo, "1");
    const loose = await pushImage(repo, undefined, { annotations: { loose: "yes" } });
    // An index (tagged) whose child is untagged: the child is reachable, so it stays.
    const child = await pushImage(repo, undefined, { annotations: { child: "yes" } });
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: child.digest, size: child.body.length }] });
    expect((await req("PUT", `/v2/${repo}/manifests/multi`, { body: index, headers: { "Content-Type": OCI_INDEX } })).status).toBe(201);
    // A signature of the tagged image (untagged, with a subject) lives with it; one of the loose image dies with it.
    const sigOfTagged = await referrer(repo, tagged.digest, tagged.body.length);
    const sigOfLoose = await referrer(repo, loose.digest, loose.body.length);

    const report = await runGc();
    expect(report.removed.manifests).toBe(2);
    expect((await req("GET", `/v2/${repo}/manifests/${loose.digest}`)).status).toBe(404);
    expect((await req("GET", `/v2/${repo}/manifests/${sigOfLoose}`)).status).toBe(404);
    expect(await blobStored(repo, loose.layer)).toEqual({ index: false, data: false, link: false });
    for (const d of [tagged.digest, child.digest, sigOfTagged]) expect((await req("GET", `/v2/${repo}/manifests/${d}`)).status).toBe(200);
    const refs = (await (await req("GET", `/v2/${repo}/referrers/${tagged.digest}`)).json()) as { manifests: { digest: string }[] };
    expect(refs.manifests.map((m) => m.digest)).toEqual([sigOfTagged]);
  });

  it("a referrer whose subject was deleted goes with it, in any repository", async () => {
    const repo = "gc/referrers";
    const img = await pushImage(repo, "1");
    const sig = await referrer(repo, img.digest, img.body.length);
    expect((await req("DELETE", `/v2/${repo}/manifests/${img.digest}`)).status).toBe(202);
    await runGc();
    expect((await req("GET", `/v2/${repo}/manifests/${sig}`)).status).toBe(404);
  });
});

/** Push a signature-like artifact whose subject is `subject`; returns its digest. */
async function referrer(repo: string, subject: string, size: number): Promise<string> {
  const blob = await pushBlob(repo, randomBytes(64));
  const put = await putImageManifest(repo, undefined, blob, [{ digest: blob, size: 64 }], {
    artifactType: "application/vnd.dev.cosign.simplesigning.v1+json",
    subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: subject, size },
  });
  expect(put.status).toBe(201);
  return put.digest;
}

describe("immutable tags", () => {
  it("cannot be moved or deleted, by tag or by digest; the same manifest may be pushed again", async () => {
    const repo = "locked/app";
    const v1 = await pushImage(repo, "v1");
    const other = await pushImage(repo, "dev");
    const move = await req("PUT", `/v2/${repo}/manifests/v1`, { body: other.body, headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } });
    await expectError(move, 409, "DENIED");
    expect((await req("GET", `/v2/${repo}/manifests/v1`)).headers.get("Docker-Content-Digest")).toBe(v1.digest);
    const same = await req("PUT", `/v2/${repo}/manifests/v1`, { body: v1.body, headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(same.status).toBe(201);
    await expectError(await req("DELETE", `/v2/${repo}/manifests/v1`), 409, "DENIED");
    await expectError(await req("DELETE", `/v2/${repo}/manifests/${v1.digest}`), 409, "DENIED");
    expect((await req("GET", `/v2/${repo}/manifests/v1`)).status).toBe(200);
    // Tags outside the rule move and go as usual.
    const moved = await req("PUT", `/v2/${repo}/manifests/dev`, { body: v1.body, headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(moved.status).toBe(201);
    expect((await req("DELETE", `/v2/${repo}/manifests/dev`)).status).toBe(202);
  });

  it("retention leaves an immutable tag alone", async () => {
    await pushTags("retain/last/locked", ["release-1", "x", "y", "z"]);
    await runGc();
    expect(await tags("retain/last/locked")).toEqual(["release-1", "y", "z"]);
  });
});
