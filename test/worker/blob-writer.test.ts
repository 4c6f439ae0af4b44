// BlobWriter driven directly on the R2 simulator (no Worker, no session): the commit sequence and the
// guarantees every writer of a blob (upload session, cache fill) relies on.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Digest, parseDigest } from "../../src/oci/grammar";
import { DomainError } from "../../src/worker/domain-errors";
import type { BlobDraft } from "../../src/worker/storage/blob-writer";
import { BlobStore } from "../../src/worker/storage/blobs";
import { paths } from "../../src/worker/storage/paths";
import { cut, dataKeys, MiB, noise, PART } from "./uploads-helpers";

const store = () => new BlobStore(env.BUCKET);

async function digestOf(data: Uint8Array, alg: "SHA-256" | "SHA-512" = "SHA-256"): Promise<Digest> {
  const h = new Uint8Array(await crypto.subtle.digest(alg, data));
  const hex = [...h].map((b) => b.toString(16).padStart(2, "0")).join("");
  return parseDigest(`${alg === "SHA-256" ? "sha256" : "sha512"}:${hex}`);
}

/** The stored object's size and SHA-256 (compared as strings: a failed comparison of MiB arrays would print them). */
async function stored(key: string): Promise<string> {
  const obj = await env.BUCKET.get(key);
  return obj ? `${obj.size} ${(await digestOf(new Uint8Array(await obj.arrayBuffer()))).hex}` : "missing";
}

async function expected(data: Uint8Array): Promise<string> {
  return `${data.length} ${(await digestOf(data)).hex}`;
}

async function* chunksOf(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

async function rejectsWithMismatch(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).kind).toBe("DIGEST_MISMATCH");
}

describe("write, then commit", () => {
  it("cuts chunks of any size into parts, indexes and links the blob, and the bytes read back exact", async () => {
    const data = noise(2 * PART + 3 * MiB + 17);
    const digest = await digestOf(data);
    const w = store().writer(PART);
    for (const c of cut(data, [1, MiB, 3 * MiB + 5, PART, 100])) await w.write(c);
    expect(w.size).toBe(data.length);
    expect(w.draft.parts.length).toBe(2);
    const info = await w.commit("bw/a", digest);
    expect(info).toEqual({ digest, size: data.length, dataKey: w.draft.dataKey });
    expect(await store().statInRepo("bw/a", digest)).toEqual(info);
    expect(await stored(info.dataKey)).toBe(await expected(data));
  });

  it("a blob smaller than one part is one plain object, never a multipart upload", async () => {
    const data = noise(1000);
    const w = store().writer(PART);
    await w.write(data);
    const info = await w.commit("bw/b", await digestOf(data));
    expect(w.draft.uploadId).toBeUndefined();
    expect(await stored(info.dataKey)).toBe(await expected(data));
  });

  it("the empty blob commits", async () => {
    const w = store().writer(PART);
    const info = await w.commit("bw/c", await digestOf(new Uint8Array(0)));
    expect(info.size).toBe(0);
    expect((await env.BUCKET.head(info.dataKey))?.size).toBe(0);
  });
});

describe("a digest mismatch stores nothing readable", () => {
  it("caught early (running hash): the multipart upload is aborted and no object or index is written", async () => {
    const before = new Set(await dataKeys());
    const data = noise(PART + 10);
    const claimed = await digestOf(noise(10));
    const w = store().writer(PART);
    await w.write(data);
    const { dataKey, uploadId } = w.draft;
    await rejectsWithMismatch(w.commit("bw/d", claimed));
    expect(await env.BUCKET.head(paths.blobIndex(claimed))).toBeNull();
    expect(await env.BUCKET.head(dataKey)).toBeNull();
    expect((await dataKeys()).filter((k) => !before.has(k))).toEqual([]);
    await expect(env.BUCKET.resumeMultipartUpload(dataKey, uploadId!).uploadPart(2, new Uint8Array(10))).rejects.toThrow();
  });

  it("caught late (resumed draft without its hash): the completed object is deleted", async () => {
    const data = noise(PART + 10);
    const w = store().writer(PART);
    await w.write(data.subarray(0, PART));
    // What a Durable Object would save, through a structured copy, and later resume without the hasher.
    const draft = structuredClone(w.draft) as BlobDraft;
    const resumed = store().resumeWriter(draft, { size: data.length, hasher: null });
    await rejectsWithMismatch(resumed.commit("bw/e", await digestOf(noise(5)), data.subarray(PART)));
    expect(await env.BUCKET.head(draft.dataKey)).toBeNull();
  });

  it("a resumed draft with the right digest is verified by reading it back", async () => {
    const data = noise(PART + 10);
    const digest = await digestOf(data);
    const w = store().writer(PART);
    await w.write(data.subarray(0, PART));
    const resumed = store().resumeWriter(structuredClone(w.draft), { size: data.length, hasher: null });
    const info = await resumed.commit("bw/f", digest, data.subarray(PART));
    expect(await stored(info.dataKey)).toBe(await expected(data));
  });

  it("sha512 digests are checked by reading back", async () => {
    const data = noise(3000);
    const w = store().writer(PART);
    await w.write(data);
    await rejectsWithMismatch(w.commit("bw/g", await digestOf(noise(3000), "SHA-512")));
    const ok = store().writer(PART);
    await ok.write(data);
    const info = await ok.commit("bw/g", await digestOf(data, "SHA-512"));
    expect(await stored(info.dataKey)).toBe(await expected(data));
  });

  it("a writer whose bytes do not add up to its size refuses to commit", async () => {
    const data = noise(100);
    const w = store().resumeWriter(emptyDraft(), { size: 200, hasher: null });
    await expect(w.commit("bw/h", await digestOf(data), data)).rejects.toThrow(/holds 100 bytes, expected 200/);
  });
});

function emptyDraft(): BlobDraft {
  return { dataKey: paths.newData(), partSize: PART, parts: [] };
}

describe("putWhole: one object, one put", () => {
  it("stores exactly `length` bytes and commits them, sealing the draft (saved) before the index exists", async () => {
    const data = noise(2 * MiB + 3);
    const digest = await digestOf(data);
    const seen: { whole: boolean | undefined; indexed: boolean }[] = [];
    const draft = emptyDraft();
    const w = store().resumeWriter(draft, {
      save: async () => {
        seen.push({ whole: draft.whole, indexed: (await env.BUCKET.head(paths.blobIndex(digest))) !== null });
      },
    });
    await w.putWhole(chunksOf(cut(data, [MiB, 7])), data.length);
    expect(draft.whole).toBe(true);
    expect(w.size).toBe(data.length);
    const info = await w.commit("bw/i", digest);
    expect(seen).toEqual([{ whole: false, indexed: false }]);
    expect(await stored(info.dataKey)).toBe(await expected(data));
  });

  it("a body shorter than its length stores nothing and loses the running hash", async () => {
    const draft = emptyDraft();
    const w = store().resumeWriter(draft, {});
    await expect(w.putWhole(chunksOf([noise(100)]), 200)).rejects.toThrow();
    expect(await env.BUCKET.head(draft.dataKey)).toBeNull();
    expect(draft.whole).toBeUndefined();
    expect(w.hasher).toBeNull();
  });

  it("cancel deletes the uncommitted whole object", async () => {
    const draft = emptyDraft();
    const w = store().resumeWriter(draft, {});
    await w.putWhole(chunksOf([noise(100)]), 100);
    expect(await env.BUCKET.head(draft.dataKey)).not.toBeNull();
    await w.cancel();
    expect(await env.BUCKET.head(draft.dataKey)).toBeNull();
  });
});

describe("two writers of the same content", () => {
  it("keep one copy: the second commit points at the first's data and deletes its own", async () => {
    const data = noise(PART + 5);
    const digest = await digestOf(data);
    const a = store().writer(PART);
    const b = store().writer(PART);
    await a.write(data);
    await b.write(data);
    const first = await a.commit("bw/j", digest);
    const second = await b.commit("bw/k", digest);
    expect(second.dataKey).toBe(first.dataKey);
    expect(await env.BUCKET.head(b.draft.dataKey)).toBeNull();
    expect(await store().statInRepo("bw/k", digest)).toEqual(first);
  });
});
