// End to end: the client library's registry operations against the real local server.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClientError } from "../../src/client/errors";
import { nodeClient } from "../../src/node/client";
import { pushBlob } from "../../src/client/upload";
import { startWharf, type Wharf } from "./harness";

let wharf: Wharf;

beforeAll(async () => {
  wharf = await startWharf();
});

afterAll(async () => {
  await wharf?.stop();
});

const enc = new TextEncoder();
const digestOf = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const once = (b: Uint8Array) => ({ async *open() { yield b; } });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Push a config-only image and return its manifest bytes and digest. */
async function pushImage(repo: string, tag: string, extra: Record<string, unknown> = {}) {
  const client = nodeClient(wharf.host);
  const config = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, tag }));
  const layer = enc.encode(`layer of ${repo}:${tag}`);
  for (const b of [config, layer]) await pushBlob(client, repo, once(b), { digest: digestOf(b), size: b.length });
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digestOf(layer), size: layer.length }],
    ...extra,
  }));
  const digest = await client.putManifest(repo, tag, manifest, "application/vnd.oci.image.manifest.v1+json");
  return { manifest, digest, layer, config };
}

describe("client library", () => {
  it("pings, puts, resolves, gets and deletes manifests", async () => {
    const client = nodeClient(wharf.host);
    await client.ping();
    const { manifest, digest } = await pushImage("api/manifests", "v1");
    expect(digest).toBe(digestOf(manifest));
    const head = await client.headManifest("api/manifests", "v1");
    expect(head).toEqual({ digest, mediaType: "application/vnd.oci.image.manifest.v1+json", size: manifest.length });
    const got = await client.getManifest("api/manifests", digest);
    expect(Buffer.from(got.bytes).equals(Buffer.from(manifest))).toBe(true);
    await client.deleteManifest("api/manifests", digest);
    expect(await client.headManifest("api/manifests", "v1")).toBeNull();
    const err = await client.getManifest("api/manifests", "v1").catch((e) => e);
    expect(err).toBeInstanceOf(RegistryClientError);
    expect(err).toMatchObject({ code: "MANIFEST_UNKNOWN", status: 404 });
  });

  it("reads blobs whole and by Range, mounts across repositories and deletes", async () => {
    const client = nodeClient(wharf.host);
    const { layer } = await pushImage("api/blobs", "v1");
    const d = digestOf(layer);
    expect(await client.headBlob("api/blobs", d)).toBe(layer.length);
    const part = await client.getBlob("api/blobs", d, { start: 2, end: 6 });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).toString()).toBe(Buffer.from(layer.subarray(2, 7)).toString());

    expect(await client.headBlob("api/other", d)).toBeNull();
    expect(await client.mountBlob("api/other", d, "api/blobs")).toBe(true);
    expect(await client.headBlob("api/other", d)).toBe(layer.length);
    // A mount from a repository without the blob falls back to a session, which the client cancels.
    expect(await client.mountBlob("api/third", d, "api/nothing-here")).toBe(false);
    await client.deleteBlob("api/other", d);
    expect(await client.headBlob("api/other", d)).toBeNull();
  });

  it("iterates tags and catalog across pages by following Link", async () => {
    const client = nodeClient(wharf.host);
    const tags = ["a", "b", "c", "d", "e"];
    for (const t of tags) await pushImage("api/paged", t);
    expect(await collect(client.tags("api/paged", 2))).toEqual(tags);
    const repos = await collect(client.catalog(1));
    expect(repos).toEqual(expect.arrayContaining(["api/paged", "api/blobs"]));
    expect([...repos].sort()).toEqual(repos);
  });

  it("lists referrers of a manifest", async () => {
    const client = nodeClient(wharf.host);
    const subject = await pushImage("api/refs", "v1");
    const sig = await pushImage("api/refs", "sig", {
      artifactType: "application/vnd.example.signature",
      subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: subject.digest, size: subject.manifest.length },
    });
    const refs = await collect(client.referrers("api/refs", subject.digest));
    expect(refs.map((r) => r.digest)).toEqual([sig.digest]);
    expect(refs[0].artifactType).toBe("application/vnd.example.signature");
    expect(await collect(client.referrers("api/refs", subject.digest, "application/other"))).toEqual([]);
  });

  it("retries a GET that met 503 and 429, honouring Retry-After", async () => {
    let injected = 0;
    const flaky: typeof fetch = async (input, init) => {
      if (injected < 2 && String(input).includes("/tags/list")) {
        injected++;
        return new Response(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "try later" }] }), {
          status: injected === 1 ? 503 : 429,
          headers: { "Retry-After": "0" },
        });
      }
      return fetch(input, init);
    };
    await pushImage("api/retry", "v1");
    const client = nodeClient(wharf.host, { fetch: flaky, retry: { baseDelayMs: 10 } });
    expect(await collect(client.tags("api/retry"))).toEqual(["v1"]);
    expect(injected).toBe(2);
    const noRetry = nodeClient(wharf.host, { fetch: (i, init) => { injected = 0; return flaky(i, init); }, retry: { retries: 0 } });
    const err = await collect(noRetry.tags("api/retry")).catch((e) => e);
    expect(err).toMatchObject({ code: "UNAVAILABLE", status: 503 });
  });

  it("reports a registry that is not there as a network error after its retries", async () => {
    const client = nodeClient("127.0.0.1:1", { retry: { retries: 1, baseDelayMs: 10 } });
    await expect(client.ping()).rejects.toMatchObject({ name: "NetworkError" });
  });
});
