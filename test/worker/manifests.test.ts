import { describe, expect, it } from "vitest";
import { expectError, OCI_INDEX, OCI_MANIFEST, pushBlob, pushImage, req, sha256 } from "./helpers";

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

async function put(name: string, ref: string, body: string, contentType: string): Promise<Response> {
  return req("PUT", `/v2/${name}/manifests/${ref}`, { body, headers: { "Content-Type": contentType } });
}

describe("manifest PUT, GET, HEAD", () => {
  it("stores an OCI manifest byte for byte and returns it by tag and by digest", async () => {
    const { digest, body } = await pushImage("man/a", "v1");
    for (const ref of ["v1", digest]) {
      const res = await req("GET", `/v2/man/a/manifests/${ref}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe(OCI_MANIFEST);
      expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
      expect(res.headers.get("Content-Length")).toBe(String(new TextEncoder().encode(body).length));
      expect(await res.text()).toBe(body);
      const head = await req("HEAD", `/v2/man/a/manifests/${ref}`);
      expect(head.status).toBe(200);
      expect(head.headers.get("Docker-Content-Digest")).toBe(digest);
      expect(head.headers.get("Content-Length")).toBe(res.headers.get("Content-Length"));
      expect(await head.text()).toBe("");
    }
  });

  it("PUT answers 201 with Location and Docker-Content-Digest; whitespace is preserved", async () => {
    const config = await pushBlob("man/b", "{}");
    const body = `{\n  "schemaVersion": 2,\n  "mediaType": "${DOCKER_MANIFEST}",\n  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": "${config}", "size": 2},\n  "layers": []\n}\n`;
    const res = await put("man/b", "latest", body, DOCKER_MANIFEST);
    expect(res.status).toBe(201);
    const digest = await sha256(body);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("Location")).toBe(`/v2/man/b/manifests/${digest}`);
    const got = await req("GET", "/v2/man/b/manifests/latest");
    expect(got.headers.get("Content-Type")).toBe(DOCKER_MANIFEST);
    expect(await got.text()).toBe(body);
  });

  it("accepts an index and a Docker manifest list whose children exist", async () => {
    const child = await pushImage("man/idx", undefined);
    for (const mediaType of [OCI_INDEX, DOCKER_LIST]) {
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType,
        manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.body.length, platform: { os: "linux", architecture: "amd64" } }],
      });
      expect((await put("man/idx", "multi", body, mediaType)).status).toBe(201);
      expect((await req("GET", "/v2/man/idx/manifests/multi")).headers.get("Content-Type")).toBe(mediaType);
    }
  });

  it("an index whose child manifest is missing is MANIFEST_BLOB_UNKNOWN", async () => {
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: await sha256("nope"), size: 10 }],
    });
    await expectError(await put("man/idx2", "x", body, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN");
  });

  it("a manifest naming a blob not in the repository is MANIFEST_BLOB_UNKNOWN", async () => {
    const elsewhere = await pushBlob("man/other", "layer elsewhere");
    const config = await pushBlob("man/c", "{}");
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: elsewhere, size: 15 }],
    });
    const res = await put("man/c", "v1", body, OCI_MANIFEST);
    await expectError(res, 400, "MANIFEST_BLOB_UNKNOWN");
    await expectError(await req("GET", "/v2/man/c/manifests/v1"), 404, "MANIFEST_UNKNOWN");
  });

  it("any artifact media type round-trips byte for byte", async () => {
    const config = await pushBlob("man/art", "{}");
    const type = "application/vnd.example.thing.v1+json";
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: type,
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config, size: 2 },
      layers: [],
    });
    expect((await put("man/art", "a1", body, type)).status).toBe(201);
    const got = await req("GET", "/v2/man/art/manifests/a1");
    expect(got.headers.get("Content-Type")).toBe(type);
    expect(await got.text()).toBe(body);
  });

  it.each([
    ["not JSON", "{nope", OCI_MANIFEST],
    ["a JSON array", "[]", OCI_MANIFEST],
    ["mediaType disagreeing with Content-Type", JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), OCI_MANIFEST],
    ["schemaVersion 1", JSON.stringify({ schemaVersion: 1, mediaType: OCI_INDEX, manifests: [] }), OCI_INDEX],
    ["a bad layer digest", JSON.stringify({ schemaVersion: 2, config: { mediaType: "a/b", digest: "sha256:zz", size: 1 }, layers: [] }), OCI_MANIFEST],
    ["a missing config", JSON.stringify({ schemaVersion: 2, layers: [] }), OCI_MANIFEST],
    ["Docker schema 1", JSON.stringify({ schemaVersion: 1, name: "x", tag: "y", fsLayers: [] }), "application/vnd.docker.distribution.manifest.v1+prettyjws"],
  ])("refuses %s with MANIFEST_INVALID", async (_what, body, type) => {
    await expectError(await put("man/bad", "t", body, type), 400, "MANIFEST_INVALID");
  });

  it("a manifest over 4 MiB is 413", async () => {
    const big = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], annotations: { x: "a".repeat(4 * 1024 * 1024) } });
    const res = await put("man/big", "t", big, OCI_INDEX);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0].code).toBe("MANIFEST_INVALID");
  });

  it("PUT by digest must match the body's digest", async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    await expectError(await put("man/d", await sha256("other"), body, OCI_INDEX), 400, "DIGEST_INVALID");
    const digest = await sha256(body);
    expect((await put("man/d", digest, body, OCI_INDEX)).status).toBe(201);
  });

  it("bad tags and digests in the reference are refused", async () => {
    await expectError(await put("man/e", "-bad", "{}", OCI_INDEX), 400, "TAG_INVALID");
    await expectError(await req("GET", "/v2/man/e/manifests/sha256:123"), 400, "DIGEST_INVALID");
  });

  it("GET, HEAD and DELETE of a reference that is not a valid tag are 404 MANIFEST_UNKNOWN; PUT stays 400 TAG_INVALID", async () => {
    await pushImage("man/badref", "v1");
    for (const ref of [".INVALID_MANIFEST_NAME", "-x", "a".repeat(129)]) {
      await expectError(await req("GET", `/v2/man/badref/manifests/${ref}`), 404, "MANIFEST_UNKNOWN");
      const head = await req("HEAD", `/v2/man/badref/manifests/${ref}`);
      expect(head.status).toBe(404);
      await expectError(await req("DELETE", `/v2/man/badref/manifests/${ref}`), 404, "MANIFEST_UNKNOWN");
      await expectError(await put("man/badref", ref, "{}", OCI_INDEX), 400, "TAG_INVALID");
    }
    await expectError(await req("GET", "/v2/man/badref/manifests/sha256:123"), 400, "DIGEST_INVALID");
  });

  it("unknown manifests are 404 MANIFEST_UNKNOWN", async () => {
    await expectError(await req("GET", "/v2/man/none/manifests/latest"), 404, "MANIFEST_UNKNOWN");
    await expectError(await req("GET", `/v2/man/none/manifests/${await sha256("x")}`), 404, "MANIFEST_UNKNOWN");
    expect((await req("HEAD", "/v2/man/none/manifests/latest")).status).toBe(404);
  });

  it("a manifest with a subject that does not exist yet is accepted, with OCI-Subject", async () => {
    const subject = await sha256("future subject");
    const config = await pushBlob("man/sub", "{}");
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.sig",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config, size: 2 },
      layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: subject, size: 123 },
    });
    const res = await put("man/sub", await sha256(body), body, OCI_MANIFEST);
    expect(res.status).toBe(201);
    expect(res.headers.get("OCI-Subject")).toBe(subject);
  });

  it("re-tagging moves the tag", async () => {
    const one = await pushImage("man/retag", "t1");
    const two = await pushImage("man/retag", "t2");
    expect((await put("man/retag", "t1", two.body, OCI_MANIFEST)).status).toBe(201);
    expect((await req("HEAD", "/v2/man/retag/manifests/t1")).headers.get("Docker-Content-Digest")).toBe(two.digest);
    expect((await req("HEAD", `/v2/man/retag/manifests/${one.digest}`)).status).toBe(200);
  });
});

describe("tags carry their manifest", () => {
  it("GET and HEAD by tag are answered from the tag object, and follow a re-tag", async () => {
    const { env } = await import("cloudflare:test");
    const { paths } = await import("../../src/worker/storage/paths");
    const one = await pushImage("man/inline", "t");
    const tagObj = await env.BUCKET.get(paths.tag("man/inline", "t"));
    expect(await tagObj!.text()).toBe(one.body);
    expect(tagObj!.customMetadata!.digest).toBe(one.digest);
    const two = await pushImage("man/inline", "u");
    expect((await put("man/inline", "t", two.body, OCI_MANIFEST)).status).toBe(201);
    const got = await req("GET", "/v2/man/inline/manifests/t");
    expect(got.headers.get("Docker-Content-Digest")).toBe(two.digest);
    expect(await got.text()).toBe(two.body);
  });

  it("a tag object written without the manifest (older layout) still resolves through the revision", async () => {
    const { env } = await import("cloudflare:test");
    const { paths } = await import("../../src/worker/storage/paths");
    const { digest, body } = await pushImage("man/legacy", "old");
    await env.BUCKET.put(paths.tag("man/legacy", "old"), digest, { customMetadata: { digest } });
    const got = await req("GET", "/v2/man/legacy/manifests/old");
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(body);
    const head = await req("HEAD", "/v2/man/legacy/manifests/old");
    expect(head.headers.get("Content-Length")).toBe(String(body.length));
    expect(head.headers.get("Content-Type")).toBe(OCI_MANIFEST);
  });
});

describe("manifest DELETE", () => {
  it("by digest removes the manifest and every tag that pointed at it", async () => {
    const { digest, body } = await pushImage("mdel/a", "v1");
    expect((await put("mdel/a", "v2", body, OCI_MANIFEST)).status).toBe(201);
    expect((await req("DELETE", `/v2/mdel/a/manifests/${digest}`)).status).toBe(202);
    for (const ref of [digest, "v1", "v2"]) await expectError(await req("GET", `/v2/mdel/a/manifests/${ref}`), 404, "MANIFEST_UNKNOWN");
    const tags = (await (await req("GET", "/v2/mdel/a/tags/list")).json()) as { tags: string[] };
    expect(tags.tags).toEqual([]);
    await expectError(await req("DELETE", `/v2/mdel/a/manifests/${digest}`), 404, "MANIFEST_UNKNOWN");
  });

  it("by digest leaves tags that were moved to another manifest", async () => {
    const one = await pushImage("mdel/b", "keep");
    const two = await pushImage("mdel/b", "other");
    expect((await put("mdel/b", "keep", two.body, OCI_MANIFEST)).status).toBe(201);
    expect((await req("DELETE", `/v2/mdel/b/manifests/${one.digest}`)).status).toBe(202);
    expect((await req("HEAD", "/v2/mdel/b/manifests/keep")).headers.get("Docker-Content-Digest")).toBe(two.digest);
  });

  it("a tag removes only the tag", async () => {
    const { digest } = await pushImage("mdel/c", "gone");
    expect((await req("DELETE", "/v2/mdel/c/manifests/gone")).status).toBe(202);
    await expectError(await req("GET", "/v2/mdel/c/manifests/gone"), 404, "MANIFEST_UNKNOWN");
    expect((await req("GET", `/v2/mdel/c/manifests/${digest}`)).status).toBe(200);
    await expectError(await req("DELETE", "/v2/mdel/c/manifests/gone"), 404, "MANIFEST_UNKNOWN");
  });
});
