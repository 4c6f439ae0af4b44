/**
 * UploadSession: the Durable Object that owns one chunked blob upload.
 *
 * Protocol
 * --------
 * - The Worker creates a session with a fresh unique id (unguessable: it appears in the Location URL and
 *   is the only handle on the upload) and calls `init`. Every later PATCH, PUT, GET and DELETE on that
 *   URL becomes one call to this object. Calls run one at a time (`exclusive`), so chunks apply strictly
 *   in order; a chunk that does not start at the current offset gets RANGE_INVALID (416) and changes
 *   nothing.
 * - Durable state (DO storage, key "state"): repository, R2 data key (fixed at creation), byte offset,
 *   the R2 multipart upload id and the parts written so far, and the length of the tail: the bytes after
 *   the last full part, kept as rows in DO storage (tail-store.ts). Offset = parts × partSize + tail.
 * - Whole-blob PATCH (whole-object.ts): a PATCH with no Content-Range and a known Content-Length at
 *   offset 0 (how skopeo, crane and docker-style clients push a layer) is streamed into the data key as
 *   one R2 object with a single put, all or nothing; the state says so (`whole`). Should another chunk
 *   follow, the object is read back and re-cut into parts first (`unwhole`), and the upload continues
 *   below as any other; its digest state is unaffected.
 * - Chunks are re-cut into equal parts (part-writer.ts). When a request ends, normally or because the
 *   client went away mid-chunk, the part in flight is awaited and whatever was received after the last
 *   part becomes the stored tail, so the session rests at a consistent offset that GET reports and the
 *   client can continue from. If a part upload itself failed, the session falls back to the end of the
 *   last stored part.
 * - Digest: a native SHA-256 (hasher.ts) runs over the bytes as they arrive and stays in memory. It is
 *   trusted only while it has seen exactly `offset` bytes. At the final PUT:
 *     fast path  (hasher intact, sha256): compare before writing the last part; a mismatch aborts the
 *                multipart upload, so nothing is written at all;
 *     read-back  (object evicted or restarted between chunks, a failed part, or sha512): complete the
 *                object, hash it by reading it back from R2, and delete it on mismatch.
 *   Either way the content index is written only after the digest matched (storage/blobs.ts commit).
 * - A whole object that fails its digest is deleted; so is an uncommitted one on cancel or abandonment.
 * - After a successful or failed PUT, and on DELETE, the session ends: its storage is erased.
 * - Abandonment: every call pushes an alarm to now + TTL; the alarm aborts the multipart upload and
 *   erases the session (R2 would otherwise keep incomplete parts for 7 days).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../config";
import { RegistryError, type WireError } from "../errors";
import { parseDigest } from "../oci/grammar";
import { BlobStore } from "../storage/blobs";
import { paths } from "../storage/paths";
import { byteChunks } from "./byte-chunks";
import { Hasher, hashStream } from "./hasher";
import { openMultipart, PartWriter, type PartLog } from "./part-writer";
import { loadTail, saveTail } from "./tail-store";
import { putWholeObject, WHOLE_OBJECT_MAX_BYTES } from "./whole-object";

interface SessionState extends PartLog {
  repo: string;
  ttlSeconds: number;
  offset: number;
  tailLength: number;
  /** The data key holds all `offset` bytes as one finished, uncommitted R2 object (whole-blob PATCH). */
  whole?: boolean;
}

export interface SessionStatus {
  offset: number;
}

export interface CommittedBlob {
  digest: string;
  size: number;
}

export type SessionResult<T> = { ok: true; value: T } | { ok: false; error: WireError };

export class UploadSession extends DurableObject<Env> {
  private hasher: Hasher | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  init(repo: string, partSize: number, ttlSeconds: number): Promise<SessionResult<SessionStatus>> {
    return this.call(async () => {
      const st: SessionState = { repo, ttlSeconds, partSize, dataKey: paths.newData(), parts: [], offset: 0, tailLength: 0 };
      await this.save(st);
      this.hasher = new Hasher();
      return { offset: 0 };
    });
  }

  status(repo: string): Promise<SessionResult<SessionStatus>> {
    return this.call(async () => ({ offset: (await this.load(repo)).offset }));
  }

  /**
   * Append a chunk. `start` is the Content-Range start when the client sent one, `length` the
   * Content-Length when known.
   */
  append(
    repo: string,
    body: ReadableStream<Uint8Array>,
    start: number | null,
    length: number | null = null,
  ): Promise<SessionResult<SessionStatus>> {
    return this.call(async () => {
      const st = await this.load(repo);
      await this.appendTo(st, body, start, length);
      return { offset: st.offset };
    });
  }

  /** The final PUT: optional last chunk, then verify `digest` and commit the blob to `repo`. */
  finish(
    repo: string,
    digest: string,
    body: ReadableStream<Uint8Array> | null,
    start: number | null,
    length: number | null = null,
  ): Promise<SessionResult<CommittedBlob>> {
    return this.call(async () => {
      const st = await this.load(repo);
      if (body) await this.appendTo(st, body, start, length);
      else if (start !== null && start !== st.offset) throw rangeError(st.offset);
      try {
        return await this.commit(st, digest);
      } finally {
        await this.end();
      }
    });
  }

  cancel(repo: string): Promise<SessionResult<null>> {
    return this.call(async () => {
      const st = await this.load(repo);
      await this.discard(st);
      await this.end();
      return null;
    });
  }

  async alarm(): Promise<void> {
    const st = await this.ctx.storage.get<SessionState>("state");
    if (st) await this.discard(st).catch((e) => console.error("session cleanup failed", e));
    await this.end();
  }

  // --- steps -------------------------------------------------------------------------------------

  private async appendTo(
    st: SessionState,
    body: ReadableStream<Uint8Array>,
    start: number | null,
    length: number | null,
  ): Promise<void> {
    if (start !== null && start !== st.offset) {
      await body.cancel().catch(() => undefined);
      throw rangeError(st.offset);
    }
    if (this.hasher && this.hasher.bytes !== st.offset) this.hasher = null;
    if (!this.hasher && st.offset === 0) this.hasher = new Hasher();
    if (start === null && st.offset === 0 && length !== null && length > 0 && length <= WHOLE_OBJECT_MAX_BYTES) {
      return this.appendWhole(st, body, length);
    }
    if (st.whole) await this.unwhole(st);
    const oldTail = st.tailLength;
    const writer = new PartWriter(this.env.BUCKET, st, await loadTail(this.ctx.storage, oldTail));
    let received = 0;
    let streamError: unknown = null;
    try {
      for await (const value of byteChunks(body)) {
        if (this.hasher) await this.hasher.write(value);
        received += value.byteLength;
        await writer.write(value);
      }
    } catch (err) {
      streamError = err;
    }
    let tail: Uint8Array;
    try {
      tail = await writer.settle();
      st.offset += received;
    } catch (err) {
      // A part upload failed: fall back to the end of the last stored part.
      streamError ??= err;
      tail = new Uint8Array(0);
      st.offset = st.parts.length * st.partSize;
      this.hasher = null;
    }
    st.tailLength = tail.length;
    await saveTail(this.ctx.storage, tail, oldTail, writer.partsCut === 0);
    await this.save(st);
    if (streamError) {
      throw new RegistryError("BLOB_UPLOAD_INVALID", `chunk ended early; the upload continues from offset ${st.offset}`, undefined, {
        Range: rangeHeader(st.offset),
      });
    }
  }

  /** The whole blob in one PATCH: one R2 object, one put. On failure nothing is stored and the offset stays 0. */
  private async appendWhole(st: SessionState, body: ReadableStream<Uint8Array>, length: number): Promise<void> {
    try {
      await putWholeObject(this.env.BUCKET, st.dataKey, body, length, this.hasher);
    } catch {
      this.hasher = null;
      throw new RegistryError("BLOB_UPLOAD_INVALID", `chunk ended early or did not match its Content-Length; the upload continues from offset 0`, undefined, {
        Range: rangeHeader(0),
      });
    }
    st.offset = length;
    st.whole = true;
    await this.save(st);
  }

  /** Another chunk follows a whole-blob PATCH: re-cut the stored object into parts and a tail. */
  private async unwhole(st: SessionState): Promise<void> {
    const obj = await this.env.BUCKET.get(st.dataKey);
    if (!obj || obj.size !== st.offset) throw new Error(`upload object ${st.dataKey} missing or of the wrong size`);
    const writer = new PartWriter(this.env.BUCKET, st, new Uint8Array(0));
    for await (const chunk of byteChunks(obj.body)) await writer.write(chunk);
    const tail = await writer.settle();
    st.tailLength = tail.length;
    st.whole = false;
    await saveTail(this.ctx.storage, tail, 0, false);
    await this.save(st);
    // The bytes are now in parts and the tail; the finished upload will write this key again.
    await this.env.BUCKET.delete(st.dataKey);
  }

  private async commit(st: SessionState, digestString: string): Promise<CommittedBlob> {
    const digest = parseDigest(digestString);
    const tail = await loadTail(this.ctx.storage, st.tailLength);
    const hasher = this.hasher;
    this.hasher = null;
    const fast = hasher !== null && hasher.bytes === st.offset && digest.algorithm === "sha256";
    if (fast && (await hasher.hex()) !== digest.hex) {
      await this.discard(st);
      throw mismatch(digestString);
    }
    await this.writeObject(st, tail);
    if (!fast) {
      const obj = await this.env.BUCKET.get(st.dataKey);
      const actual = obj ? await hashStream(obj.body, digest.algorithm) : "";
      if (actual !== digest.hex) {
        await this.env.BUCKET.delete(st.dataKey);
        throw mismatch(digestString);
      }
    }
    if (st.whole) {
      // From here the object is the blob's: no later cleanup (an alarm, if erasing the session failed) may delete it.
      st.whole = false;
      await this.save(st);
    }
    await new BlobStore(this.env.BUCKET).commit(st.repo, digest, st.dataKey, st.offset);
    return { digest: digestString, size: st.offset };
  }

  /** The last part (or, for a blob smaller than one part, the whole object). */
  private async writeObject(st: SessionState, tail: Uint8Array): Promise<void> {
    if (st.whole) return; // already one finished object
    if (!st.uploadId) {
      await this.env.BUCKET.put(st.dataKey, tail);
      return;
    }
    const mp = await openMultipart(this.env.BUCKET, st);
    if (tail.length > 0) st.parts.push(await mp.uploadPart(st.parts.length + 1, tail));
    await mp.complete(st.parts);
  }

  private async discard(st: SessionState): Promise<void> {
    if (st.uploadId) await this.env.BUCKET.resumeMultipartUpload(st.dataKey, st.uploadId).abort();
    if (st.whole) await this.env.BUCKET.delete(st.dataKey);
  }

  // --- state -------------------------------------------------------------------------------------

  private async load(repo: string): Promise<SessionState> {
    const st = await this.ctx.storage.get<SessionState>("state");
    if (!st || st.repo !== repo) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
    return st;
  }

  private async save(st: SessionState): Promise<void> {
    await this.ctx.storage.put("state", st);
    await this.ctx.storage.setAlarm(Date.now() + st.ttlSeconds * 1000);
  }

  private async end(): Promise<void> {
    this.hasher = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /** Run one call at a time, and carry RegistryErrors across the RPC boundary as plain values. */
  private async call<T>(fn: () => Promise<T>): Promise<SessionResult<T>> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    try {
      return { ok: true, value: await run };
    } catch (err) {
      if (err instanceof RegistryError) return { ok: false, error: err.toWire() };
      throw err;
    }
  }
}

export function rangeHeader(offset: number): string {
  return `0-${Math.max(0, offset - 1)}`;
}

function rangeError(offset: number): RegistryError {
  return new RegistryError("RANGE_INVALID", `chunk must start at offset ${offset}`, undefined, { Range: rangeHeader(offset) });
}

function mismatch(digest: string): RegistryError {
  return new RegistryError("DIGEST_INVALID", `uploaded content does not match digest ${digest}`);
}
