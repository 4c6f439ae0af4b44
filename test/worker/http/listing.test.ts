// Tags list, catalog and referrers: lexical order, n/last pagination with Link, edges.
import { describe, expect, it } from "vitest";
import { expectError, OCI_MANIFEST, pushBlob, pushImage, req, sha256 } from "../harness";

async function tagRepo(name: string, tags: string[]): Promise<void> {
  const { body } = await pushImage(name, tags[0]);
  for (const t of tags.slice(1)) {
    const res = await req("PUT", `/v2/${name}/manifests/${t}`, { body, headers: { "Content-Type": OCI_MANIFEST } });
    expect(res.status).toBe(201);
  }
}

async function json<T>(res: Response): Promise<T> {
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

describe("tags list", () => {
  it("lists all tags in lexical order", async () => {
    await tagRepo("tags/a", ["v2", "v10", "latest", "V1", "_x"]);
    const body = await json<{ name: string; tags: string[] }>(await req("GET", "/v2/tags/a/tags/list"));
    expect(body).toEqual({ name: "tags/a", tags: ["V1", "_x", "latest", "v10", "v2"] });
  });

  it("paginates with n and last, and a Link header until the end", async () => {
    await tagRepo("tags/p", ["a", "b", "c", "d", "e"]);
    const first = await req("GET", "/v2/tags/p/tags/list?n=2");
    expect((await json<{ tags: string[] }>(first.clone())).tags).toEqual(["a", "b"]);
    expect(first.headers.get("Link")).toBe('</v2/tags/p/tags/list?n=2&last=b>; rel="next"');
    const walked: string[] = [];
    let next: string | null = "/v2/tags/p/tags/list?n=2";
    let pages = 0;
    while (next) {
      const res = await req("GET", next);
      walked.push(...(await json<{ tags: string[] }>(res.clone())).tags);
      next = res.headers.get("Link")?.match(/<([^>]+)>/)?.[1] ?? null;
      pages++;
    }
    expect(walked).toEqual(["a", "b", "c", "d", "e"]);
    expect(pages).toBe(3);
  });

  it("n=0 gives an empty list and no Link; last past the end gives an empty list", async () => {
    await tagRepo("tags/e", ["x", "y"]);
    const zero = await req("GET", "/v2/tags/e/tags/list?n=0");
    expect((await json<{ tags: string[] }>(zero.clone())).tags).toEqual([]);
    expect(zero.headers.get("Link")).toBeNull();
    const past = await req("GET", "/v2/tags/e/tags/list?last=z");
    expect((await json<{ tags: string[] }>(past.clone())).tags).toEqual([]);
    const exact = await req("GET", "/v2/tags/e/tags/list?n=2");
    expect(exact.headers.get("Link")).toBeNull();
    const between = await json<{ tags: string[] }>(await req("GET", "/v2/tags/e/tags/list?last=x"));
    expect(between.tags).toEqual(["y"]);
  });

  it("a bad n is 400 PAGINATION_NUMBER_INVALID; an unknown repository is 404 NAME_UNKNOWN", async () => {
    await tagRepo("tags/n", ["a"]);
    await expectError(await req("GET", "/v2/tags/n/tags/list?n=-1"), 400, "PAGINATION_NUMBER_INVALID");
    await expectError(await req("GET", "/v2/tags/n/tags/list?n=abc"), 400, "PAGINATION_NUMBER_INVALID");
    await expectError(await req("GET", "/v2/tags/unknown/tags/list"), 404, "NAME_UNKNOWN");
  });

  it("tags of a nested repository are not listed under its parent", async () => {
    await tagRepo("tags/nest", ["parent"]);
    await tagRepo("tags/nest/child", ["child"]);
    expect((await json<{ tags: string[] }>(await req("GET", "/v2/tags/nest/tags/list"))).tags).toEqual(["parent"]);
  });
});

describe("catalog", () => {
  // Names under "zzcat/" sort after every other test's repositories, so `last=zzcat/` starts the walk at ours.
  it("lists repositories in lexical order with n, last and Link", async () => {
    for (const r of ["zzcat/b", "zzcat/a", "zzcat/c/d", "zzcat/c"]) await pushImage(r, "t");
    const all = await json<{ repositories: string[] }>(await req("GET", "/v2/_catalog?last=zzcat/"));
    expect(all.repositories).toEqual(["zzcat/a", "zzcat/b", "zzcat/c", "zzcat/c/d"]);
    const page = await req("GET", "/v2/_catalog?n=2&last=zzcat/");
    expect((await json<{ repositories: string[] }>(page.clone())).repositories).toEqual(["zzcat/a", "zzcat/b"]);
    expect(page.headers.get("Link")).toBe('</v2/_catalog?n=2&last=zzcat%2Fb>; rel="next"');
    const rest = await json<{ repositories: string[] }>(await req("GET", "/v2/_catalog?n=10&last=zzcat/b"));
    expect(rest.repositories).toEqual(["zzcat/c", "zzcat/c/d"]);
    const end = await req("GET", "/v2/_catalog?n=10&last=zzcat/c/d");
    expect((await json<{ repositories: string[] }>(end.clone())).repositories).toEqual([]);
    expect(end.headers.get("Link")).toBeNull();
  });

  it("n=0 is empty; n above 1000 is 400 PAGINATION_NUMBER_INVALID", async () => {
    const zero = await req("GET", "/v2/_catalog?n=0");
    expect((await json<{ repositories: string[] }>(zero.clone())).repositories).toEqual([]);
    expect(zero.headers.get("Link")).toBeNull();
    await expectError(await req("GET", "/v2/_catalog?n=1001"), 400, "PAGINATION_NUMBER_INVALID");
  });
});

describe("referrers", () => {
  async function pushReferrer(name: string, subject: string, artifactType: string, i: number): Promise<string> {
    const config = await pushBlob(name, "{}");
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config, size: 2 },
      layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: subject, size: 10 },
      annotations: { n: String(i) },
    });
    const digest = await sha256(body);
    const res = await req("PUT", `/v2/${name}/manifests/${digest}`, { body, headers: { "Content-Type": OCI_MANIFEST } });
    expect(res.status).toBe(201);
    return digest;
  }

  type Index = { schemaVersion: number; mediaType: string; manifests: { digest: string; artifactType?: string; annotations?: Record<string, string>; size: number; mediaType: string }[] };

  it("no referrers is an empty index, never 404", async () => {
    const res = await req("GET", `/v2/refs/none/referrers/${await sha256("nothing")}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/vnd.oci.image.index.v1+json");
    expect(await res.json()).toEqual({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] });
  });

  it("lists descriptors with artifactType and annotations, filters and paginates", async () => {
    const { digest: subject } = await pushImage("refs/a", "base");
    const sigs = [await pushReferrer("refs/a", subject, "application/vnd.example.sig", 1), await pushReferrer("refs/a", subject, "application/vnd.example.sig", 2)];
    const sbom = await pushReferrer("refs/a", subject, "application/vnd.example.sbom", 3);
    const all = await json<Index>(await req("GET", `/v2/refs/a/referrers/${subject}`));
    expect(all.manifests.map((m) => m.digest).sort()).toEqual([...sigs, sbom].sort());
    const one = all.manifests.find((m) => m.digest === sbom)!;
    expect(one.artifactType).toBe("application/vnd.example.sbom");
    expect(one.annotations).toEqual({ n: "3" });
    expect(one.mediaType).toBe(OCI_MANIFEST);
    expect(one.size).toBeGreaterThan(0);

    const filtered = await req("GET", `/v2/refs/a/referrers/${subject}?artifactType=application/vnd.example.sig`);
    expect(filtered.headers.get("OCI-Filters-Applied")).toBe("artifactType");
    expect((await json<Index>(filtered)).manifests.map((m) => m.digest).sort()).toEqual([...sigs].sort());

    const seen: string[] = [];
    let next: string | null = `/v2/refs/a/referrers/${subject}?n=1`;
    while (next) {
      const res = await req("GET", next);
      const page = await json<Index>(res.clone());
      expect(page.manifests.length).toBeLessThanOrEqual(1);
      seen.push(...page.manifests.map((m) => m.digest));
      next = res.headers.get("Link")?.match(/<([^>]+)>/)?.[1] ?? null;
    }
    expect(seen.sort()).toEqual([...sigs, sbom].sort());
  });

  it("deleting a referrer removes it from the list", async () => {
    const { digest: subject } = await pushImage("refs/b", "base");
    const ref = await pushReferrer("refs/b", subject, "application/vnd.example.sig", 1);
    expect((await req("DELETE", `/v2/refs/b/manifests/${ref}`)).status).toBe(202);
    expect((await json<Index>(await req("GET", `/v2/refs/b/referrers/${subject}`))).manifests).toEqual([]);
  });

  it("a bad digest is 400", async () => {
    await expectError(await req("GET", "/v2/refs/a/referrers/sha256:nope"), 400, "DIGEST_INVALID");
  });
});
