/**
 * Storage-level access for tests that drive the stores directly, without the Worker's HTTP in between
 * (BlobWriter, garbage collection interleavings, consistency checks). Everything here works on the
 * test project's real R2 simulator (env.BUCKET).
 *
 *   stores()                     the registry's storage API on env.BUCKET, as handlers get it
 *   writeBlob(repo, bytes)       a blob committed through a BlobWriter (verify, index, link), no HTTP
 *   blobStored(repo, digest)     which of its three parts exist: index entry, data object, link
 *   indexedDataKey(digest)       the data object the content index points at
 *   storedDigest(digest)         SHA-256 of those stored bytes, read back
 *   allKeys(prefix) / dataKeys() every key under a prefix / every physical data object
 *   snapshot()                   every key with its etag: compare two to prove nothing changed
 *   latch()                      a pause point for interleavings, see below
 *
 * Interleavings: pass `latch.pause` where the code under test takes a hook (BlobWriter's `save`, which
 * runs after the digest check and before the content index is written), start the operation, `await
 * latch.reached`, do the competing step, then `latch.release()` and await the operation:
 *
 *   const l = latch();
 *   const w = stores().blobs.writer(PART, { save: l.pause });
 *   await w.putWhole(chunks, size);            // the seal (and so the pause) happens for whole objects
 *   const commit = w.commit("repo", digest);
 *   await l.reached;                           // verified, not yet indexed
 *   ...competing step...
 *   l.release();
 *   await commit;
 */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { type Digest, digestOf, parseDigest } from "../../../src/oci/grammar";
import type { BlobInfo } from "../../../src/worker/storage/blobs";
import { paths } from "../../../src/worker/storage/paths";
import { openStorage, type RegistryStorage } from "../../../src/worker/storage/registry";
import { PART } from "./uploads";

export function stores(): RegistryStorage {
  return openStorage(env.BUCKET);
}

/** Commit `bytes` to `repo` through a BlobWriter; returns what the index now says. */
export async function writeBlob(repo: string, bytes: Uint8Array, partSize = PART): Promise<BlobInfo & { digest: Digest }> {
  const w = stores().blobs.writer(partSize);
  await w.write(bytes);
  return w.commit(repo, await digestOf(bytes));
}

/** Does the blob exist in full: index entry, the data object it names, and the repository's link? */
export async function blobStored(repo: string, digest: string): Promise<{ index: boolean; data: boolean; link: boolean }> {
  const d = parseDigest(digest);
  const idx = await env.BUCKET.head(paths.blobIndex(d));
  const data = idx?.customMetadata?.data ? await env.BUCKET.head(idx.customMetadata.data) : null;
  return { index: !!idx, data: !!data, link: !!(await env.BUCKET.head(paths.layerLink(repo, d))) };
}

/** The data key the content index points at for `digest`, or null. */
export async function indexedDataKey(digest: string): Promise<string | null> {
  const idx = await env.BUCKET.head(paths.blobIndex(parseDigest(digest)));
  return idx?.customMetadata?.data ?? null;
}

/** SHA-256 of what the registry stored for `digest`, read back from R2. */
export async function storedDigest(digest: string): Promise<string> {
  const key = await indexedDataKey(digest);
  expect(key).not.toBeNull();
  const obj = await env.BUCKET.get(key!);
  const ds = new crypto.DigestStream("SHA-256");
  await obj!.body.pipeTo(ds);
  const h = new Uint8Array(await ds.digest);
  return `sha256:${[...h].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Every key under `prefix` (the whole bucket by default). */
export async function allKeys(prefix = ""): Promise<string[]> {
  return [...(await snapshot(prefix)).keys()];
}

/** Every physical data object in the bucket. */
export function dataKeys(): Promise<string[]> {
  return allKeys("data/");
}

/** Every object under `prefix`, key → etag. */
export async function snapshot(prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ prefix, cursor });
    for (const o of page.objects) out.set(o.key, o.etag);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

export interface Latch {
  /** For the code under test: resolves once the test calls release(). */
  pause: () => Promise<void>;
  /** For the test: resolves when the code under test reached pause(). */
  reached: Promise<void>;
  release: () => void;
}

export function latch(): Latch {
  let arrive!: () => void;
  let go!: () => void;
  const reached = new Promise<void>((r) => (arrive = r));
  const released = new Promise<void>((r) => (go = r));
  return {
    pause: () => {
      arrive();
      return released;
    },
    reached,
    release: () => go(),
  };
}
