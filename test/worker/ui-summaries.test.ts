/**
 * Repository summaries (src/worker/storage/summaries.ts) as the repositories page and the tag pages use
 * them: kept by the repository's Durable Object at every push and delete, recounted when missing or
 * forgotten, and the version under which tag listings are cached.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { authEnv, call } from "./harness";
import { admin, alice, pushRichImage, Visitor } from "./ui-helpers";
import { SummaryStore } from "../../src/worker/storage/summaries";
import { ManifestStore } from "../../src/worker/storage/manifests";
import { RepositoryMutations } from "../../src/worker/repository/mutations";
import { paths } from "../../src/worker/storage/paths";
import { digestOf } from "../../src/oci/grammar";

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const summaries = () => new SummaryStore(env.BUCKET);
const rowOf = (page: string, name: string) => {
  const at = page.indexOf(`/r/${name}"`);
  return page.slice(at, page.indexOf("</tr>", at));
};

describe("repository summaries", () => {
  it("follow pushes, moves and deletes through the API without listing tags", async () => {
    const e = await authEnv();
    const name = "public/sum";
    const d1 = await pushRichImage(e, name, "1.0", alice());
    await pushRichImage(e, name, "1.1", alice(), "arm64");
    let s = (await summaries().get(name))!;
    expect(s).toMatchObject({ tags: 2, more: false, latest: { tag: "1.1" } });
    expect(s.latest!.contentSize).toBeGreaterThan(0);
    const v1 = s.version;

    await pushRichImage(e, name, "1.0", alice()); // an existing tag pushed again: the latest, not one more
    s = (await summaries().get(name))!;
    expect(s).toMatchObject({ tags: 2, latest: { tag: "1.0", digest: d1 } });
    expect(s.version).not.toBe(v1);

    expect((await call(e, "DELETE", `/v2/${name}/manifests/1.1`, { headers: { Authorization: admin() } })).status).toBe(202);
    expect(await summaries().get(name)).toMatchObject({ tags: 1, latest: { tag: "1.0" } });

    // deleting the latest tag recounts: the one left is the latest now
    await pushRichImage(e, name, "2.0", alice(), "arm64");
    expect((await call(e, "DELETE", `/v2/${name}/manifests/2.0`, { headers: { Authorization: admin() } })).status).toBe(202);
    expect(await summaries().get(name)).toMatchObject({ tags: 1, latest: { tag: "1.0" } });

    // a manifest delete by digest takes every tag pointing at it
    const bytes = await (await call(e, "GET", `/v2/${name}/manifests/${d1}`)).text();
    const put = await call(e, "PUT", `/v2/${name}/manifests/also-1.0`, { auth: alice(), body: bytes, headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(put.status).toBe(201);
    expect(await summaries().get(name)).toMatchObject({ tags: 2 });
    expect((await call(e, "DELETE", `/v2/${name}/manifests/${d1}`, { headers: { Authorization: admin() } })).status).toBe(202);
    expect(await summaries().get(name)).toMatchObject({ tags: 0 });
    expect((await summaries().get(name))!.latest).toBeUndefined();
  });

  it("a repository without one (pushed before summaries existed) is counted once by its object, then read", async () => {
    const e = await authEnv();
    await pushRichImage(e, "public/old-sum", "a", alice());
    await pushRichImage(e, "public/old-sum", "b", alice());
    await env.BUCKET.delete(paths.summary("public/old-sum"));
    const page = await new Visitor(e).html("/");
    const row = rowOf(page, "public/old-sum");
    expect(row).toMatch(/<td class="num">2<\/td>/);
    expect(row).toContain('<a href="/r/public/old-sum:b">b</a>');
    expect(await summaries().get("public/old-sum")).toMatchObject({ tags: 2, latest: { tag: "b" } });
  });

  it("a failed mutation forgets the summary, a refused one (DomainError, before any write) keeps it", async () => {
    const name = "race/sum-fail";
    const a = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
    const repo = new RepositoryMutations(new ManifestStore(env.BUCKET), summaries());
    await repo.putManifest(name, (await digestOf(a)).toString(), a, OCI_INDEX, "t");
    expect(await summaries().get(name)).toMatchObject({ tags: 1 });
    await expect(repo.deleteTag(name, "nope")).rejects.toMatchObject({ kind: "MANIFEST_UNKNOWN" });
    expect(await summaries().get(name)).toMatchObject({ tags: 1 });

    // R2 failing mid-way (the tag's write)
    const failing = new Proxy(env.BUCKET, {
      get(target, prop) {
        if (prop === "put") return (key: string, ...rest: unknown[]) => (key === paths.tag(name, "u") ? Promise.reject(new Error("R2 down")) : (target.put as (...a: unknown[]) => unknown)(key, ...rest));
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const broken = new RepositoryMutations(new ManifestStore(failing), new SummaryStore(failing));
    await expect(broken.putManifest(name, (await digestOf(a)).toString(), a, OCI_INDEX, "u")).rejects.toThrow("R2 down");
    expect(await summaries().get(name)).toBeNull();
    expect(await repo.summary(name)).toMatchObject({ tags: 1, latest: { tag: "t" } }); // counted again
  });

  it("an old count is recounted, unless it was counted meanwhile", async () => {
    const name = "race/sum-old";
    const a = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
    const repo = new RepositoryMutations(new ManifestStore(env.BUCKET), summaries());
    await repo.putManifest(name, (await digestOf(a)).toString(), a, OCI_INDEX, "t");
    const s = (await summaries().get(name))!;
    expect((await repo.recount(name, 60_000)).version).toBe(s.version); // counted just now: kept
    expect((await repo.recount(name)).version).not.toBe(s.version);
  });

  it("a tag page cached under the summary's version shows a push or a delete at once", async () => {
    const e = await authEnv();
    const name = "public/cached";
    await pushRichImage(e, name, "1", alice());
    const v = new Visitor(e);
    expect(await v.html(`/r/${name}`)).toContain(`/r/${name}:1"`);
    expect(await v.html(`/r/${name}`)).not.toContain(`/r/${name}:2"`); // (a second look: from the cache)
    await pushRichImage(e, name, "2", alice());
    expect(await v.html(`/r/${name}`)).toContain(`/r/${name}:2"`);
    expect((await call(e, "DELETE", `/v2/${name}/manifests/1`, { headers: { Authorization: admin() } })).status).toBe(202);
    const after = await v.html(`/r/${name}`);
    expect(after).not.toContain(`/r/${name}:1"`);
    expect(after).toContain(`/r/${name}:2"`);
  });

  it("anonymous visitors never cause a private repository's summary to be read or counted", async () => {
    const e = await authEnv();
    await pushRichImage(e, "team/hidden", "v1", alice());
    await env.BUCKET.delete(paths.summary("team/hidden"));
    const page = await new Visitor(e).html("/");
    expect(page).not.toContain("team/hidden");
    expect(await summaries().get("team/hidden")).toBeNull(); // nobody asked its object to count it
  });
});
