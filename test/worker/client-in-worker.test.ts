// The client library inside workerd, talking to the real Worker (SELF): it runs on fetch alone, hashes
// chunked uploads with Workers' DigestStream, and follows Link pages.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/client/registry";
import { pushBlob } from "../../src/client/upload";
import { randomBytes, sha256 } from "./harness";

const client = () => new RegistryClient("registry.test", { fetch: (input, init) => SELF.fetch(input, init), retry: { retries: 0 } });

describe("client library in a Worker", () => {
  it("pushes a blob in chunks with DigestStream hashing, then a manifest, and lists tags", async () => {
    const c = client();
    await c.ping();
    const data = randomBytes(11 * 1024 * 1024);
    const pushed = await pushBlob(c, "worker/app", { async *open() { yield data; } }, { chunkSize: 5 * 1024 * 1024, forceChunked: true });
    expect(pushed.digest).toBe(await sha256(data));
    expect(pushed.chunkSize).toBe(5 * 1024 * 1024);
    expect(await c.headBlob("worker/app", pushed.digest)).toBe(data.length);

    const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    const cfg = await pushBlob(c, "worker/app", { async *open() { yield config; } }, { digest: await sha256(config), size: config.length });
    expect(cfg.how).toBe("uploaded");
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cfg.digest, size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: pushed.digest, size: data.length }],
    }));
    for (const tag of ["a", "b", "c"]) await c.putManifest("worker/app", tag, manifest, "application/vnd.oci.image.manifest.v1+json");
    const tags: string[] = [];
    for await (const t of c.tags("worker/app", 2)) tags.push(t);
    expect(tags).toEqual(["a", "b", "c"]);
    expect((await c.getManifest("worker/app", "b")).digest).toBe(await sha256(manifest));
    await expect(c.getManifest("worker/app", "zzz")).rejects.toMatchObject({ code: "MANIFEST_UNKNOWN", status: 404 });
  });
});
