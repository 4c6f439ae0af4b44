/**
 * Garbage collection beside pushes, in deterministic interleavings: the coordinator is stepped alarm by
 * alarm (runDurableObjectAlarm) and the push happens exactly between two chosen steps. Grace 0 and
 * GC_CONDEMN_SECONDS 0 here (vitest.config.ts): without the protocol each of these pushes would lose its
 * blobs. The protocol is in src/worker/gc/coordinator.ts.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oci/grammar";
import { BlobStore } from "../../src/worker/storage/blobs";
import { condemn, entomb } from "../../src/worker/storage/condemnation";
import { paths } from "../../src/worker/storage/paths";
import { blobStored, condemnedState, finishRun, gcStub, indexEntry, putImageManifest, stepUntil } from "./gc-helpers";
import { pushBlob, randomBytes, req } from "./harness";

/** A config and a layer in `repo`, referenced by no manifest (an image whose manifest was deleted, or not pushed yet). */
async function looseBlobs(repo: string): Promise<{ config: string; layer: string; size: number }> {
  const config = await pushBlob(repo, JSON.stringify({ os: "linux", nonce: crypto.randomUUID() }));
  const bytes = randomBytes(2048);
  const layer = await pushBlob(repo, bytes);
  return { config, layer, size: bytes.length };
}

async function startRun(): Promise<string> {
  const { id, started } = await gcStub().start();
  expect(started).toBe(true);
  return id;
}

async function pullsWhole(repo: string, ref: string, layer: string, size: number): Promise<void> {
  expect((await req("GET", `/v2/${repo}/manifests/${ref}`)).status).toBe(200);
  const res = await req("GET", `/v2/${repo}/blobs/${layer}`, { redirect: "follow" });
  expect(res.status).toBe(200);
  expect((await res.arrayBuffer()).byteLength).toBe(size);
}

describe("pushes interleaved with a run", () => {
  it("control: loose blobs are condemned and then collected when nothing revives them", async () => {
    const b = await looseBlobs("race/control");
    const id = await startRun();
    await stepUntil("recheck");
    expect(await condemnedState(b.layer)).toBe("condemned");
    const report = await finishRun(id);
    expect(report.state).toBe("done");
    expect(await blobStored("race/control", b.layer)).toEqual({ index: false, data: false, link: false });
  });

  it("a blob uploaded while the inventory runs is not in it and is kept, its manifest not pushed yet", async () => {
    const id = await startRun();
    await stepUntil("inventory-data"); // repositories and the content index are listed
    const b = await looseBlobs("race/during-inventory");
    await finishRun(id);
    expect(await blobStored("race/during-inventory", b.layer)).toEqual({ index: true, data: true, link: true });
    const put = await putImageManifest("race/during-inventory", "1", b.config, [{ digest: b.layer, size: b.size }]);
    expect(put.status).toBe(201);
  });

  it("a blob uploaded before the run, whose manifest is pushed after condemnation, is revived and kept", async () => {
    const b = await looseBlobs("race/late-manifest");
    const id = await startRun();
    await stepUntil("recheck");
    expect(await condemnedState(b.layer)).toBe("condemned");
    const put = await putImageManifest("race/late-manifest", "1", b.config, [{ digest: b.layer, size: b.size }]);
    expect(put.status).toBe(201);
    expect(await condemnedState(b.layer)).toBe("live"); // the reference check revived it
    await finishRun(id);
    await pullsWhole("race/late-manifest", "1", b.layer, b.size);
  });

  it("a client HEADs a blob being condemned, skips the upload, then pushes a manifest naming it", async () => {
    const b = await looseBlobs("race/head");
    const id = await startRun();
    await stepUntil("wait"); // condemned, rechecked: the next step starts the sweep's wait
    expect(await condemnedState(b.layer)).toBe("condemned");
    const head = await req("HEAD", `/v2/race/head/blobs/${b.layer}`);
    expect(head.status).toBe(200);
    expect(await condemnedState(b.layer)).toBe("live"); // the HEAD revived it
    await stepUntil("sweep");
    const put = await putImageManifest("race/head", "1", b.config, [{ digest: b.layer, size: b.size }]);
    expect(put.status).toBe(201);
    const report = await finishRun(id);
    expect(report.revived).toBeGreaterThanOrEqual(2); // the layer (HEAD) and the config (the manifest's check)
    await pullsWhole("race/head", "1", b.layer, b.size);
  });

  it("a manifest written after the inventory passed its repository, before condemnation, is found by the recheck", async () => {
    const b = await looseBlobs("race/dekker");
    const id = await startRun();
    await stepUntil("mark"); // inventory done; nothing condemned yet, so the push has nothing to revive
    const put = await putImageManifest("race/dekker", "1", b.config, [{ digest: b.layer, size: b.size }]);
    expect(put.status).toBe(201);
    await stepUntil("recheck");
    expect(await condemnedState(b.layer)).toBe("condemned"); // the mark did not see the manifest...
    const report = await finishRun(id);
    expect(await condemnedState(b.layer)).toBe("live"); // ...the second look did, and pardoned it
    expect(report.revived).toBeGreaterThanOrEqual(2);
    await pullsWhole("race/dekker", "1", b.layer, b.size);
  });

  it("a mount during the sweep revives the blob; the mounted repository can push and pull it", async () => {
    const b = await looseBlobs("race/mount-src");
    const id = await startRun();
    await stepUntil("sweep");
    expect(await condemnedState(b.layer)).toBe("condemned");
    const mount = await req("POST", `/v2/race/mount-dst/blobs/uploads/?mount=${b.layer}&from=race/mount-src`);
    expect(mount.status).toBe(201);
    const mountConfig = await req("POST", `/v2/race/mount-dst/blobs/uploads/?mount=${b.config}&from=race/mount-src`);
    expect(mountConfig.status).toBe(201);
    await finishRun(id);
    const put = await putImageManifest("race/mount-dst", "1", b.config, [{ digest: b.layer, size: b.size }]);
    expect(put.status).toBe(201);
    await pullsWhole("race/mount-dst", "1", b.layer, b.size);
  });

  it("a tag moved during the mark to a manifest of condemned blobs keeps the new image whole", async () => {
    const first = await looseBlobs("race/tag");
    expect((await putImageManifest("race/tag", "stable", first.config, [{ digest: first.layer, size: first.size }])).status).toBe(201);
    const next = await looseBlobs("race/tag");
    const id = await startRun();
    await stepUntil("mark");
    const moved = await putImageManifest("race/tag", "stable", next.config, [{ digest: next.layer, size: next.size }]);
    expect(moved.status).toBe(201);
    await stepUntil("recheck");
    const again = await putImageManifest("race/tag", "stable", next.config, [{ digest: next.layer, size: next.size }]);
    expect(again.status).toBe(201); // pushing it again while condemned revives as well
    await finishRun(id);
    await pullsWhole("race/tag", "stable", next.layer, next.size);
    // The first image is untagged now, and kept: no retention policy covers race/*.
    expect(await blobStored("race/tag", first.layer)).toEqual({ index: true, data: true, link: true });
  });

  it("an upload of a digest whose index entry is condemned revives it and keeps one copy", async () => {
    const b = await looseBlobs("race/commit");
    const before = (await indexEntry(b.layer))!.customMetadata!.data;
    const id = await startRun();
    await stepUntil("wait");
    expect(await condemnedState(b.layer)).toBe("condemned");
    const bytes = await (await req("GET", `/v2/race/commit/blobs/${b.layer}`, { redirect: "follow" })).arrayBuffer();
    await pushBlob("race/commit-2", new Uint8Array(bytes));
    expect(await condemnedState(b.layer)).toBe("live");
    expect((await indexEntry(b.layer))!.customMetadata!.data).toBe(before);
    await finishRun(id);
    expect(await blobStored("race/commit-2", b.layer)).toEqual({ index: true, data: true, link: true });
  });
});

describe("when GC has won", () => {
  it("a mount of an entombed blob falls back to an upload session and a HEAD answers 404", async () => {
    const b = await looseBlobs("won/src");
    const key = paths.blobIndex(parseDigest(b.layer));
    const idx = (await env.BUCKET.head(key))!;
    const condemned = (await condemn(env.BUCKET, key, idx.etag, b.layer, "test"))!;
    expect(await entomb(env.BUCKET, key, condemned.etag, b.layer, "test", idx.customMetadata)).toBe(true);
    expect((await req("HEAD", `/v2/won/src/blobs/${b.layer}`)).status).toBe(404);
    const mount = await req("POST", `/v2/won/dst/blobs/uploads/?mount=${b.layer}&from=won/src`);
    expect(mount.status).toBe(202);
    // A manifest naming it is refused and nothing is stored.
    const put = await putImageManifest("won/src", "1", b.config, [{ digest: b.layer, size: b.size }]);
    expect(put.status).toBe(400);
    expect((await req("GET", `/v2/won/src/manifests/${put.digest}`)).status).toBe(404);
    await env.BUCKET.delete(key);
  });

  it("a writer's re-check after its write, while a run is active, revives what was condemned meanwhile", async () => {
    const b = await looseBlobs("won/confirm");
    const key = paths.blobIndex(parseDigest(b.layer));
    const idx = (await env.BUCKET.head(key))!;
    await condemn(env.BUCKET, key, idx.etag, b.layer, "test");
    const store = new BlobStore(env.BUCKET);
    // No run active: nothing is looked at again (one head of _gc/active).
    expect(await store.confirm("won/confirm", [parseDigest(b.layer)])).toEqual([]);
    expect(await condemnedState(b.layer)).toBe("condemned");
    await env.BUCKET.put(paths.gcActive(), "{}");
    try {
      expect(await store.confirm("won/confirm", [parseDigest(b.layer)])).toEqual([]);
      expect(await condemnedState(b.layer)).toBe("live");
    } finally {
      await env.BUCKET.delete(paths.gcActive());
    }
  });
});
