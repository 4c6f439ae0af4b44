/**
 * UploadSession: the Durable Object that owns one chunked blob upload.
 *
 * Protocol
 * --------
 * - The Worker creates a session with a fresh unique id (unguessable: it appears in the Location URL and
 *   is the only handle on the upload) and calls `init`. Every later PATCH, PUT, GET and DELETE on that
 *   URL becomes one call to this object. Calls run one at a time (`exclusive`), so chunks apply strictly
 *   in order; a chunk that does not start at the current offset is refused (CHUNK_OUT_OF_ORDER, which
 *   the Worker answers with 416 and the offset in Range) and changes nothing.
 * - Durable state (DO storage, key "state"): repository, R2 data key (fixed at creation), byte offset,
 *   the R2 multipart upload id and the parts written so far, and the length of the tail: the bytes after
 *   the last full part, kept as rows in DO storage (tail-store.ts). Offset = parts × partSize + tail.
 * - R2 is written through the blob's BlobWriter (storage/blob-writer.ts), rebuilt at each call from the
 *   state, which is its draft: the writer owns the multipart upload, the whole object and the commit
 *   sequence; this object owns order, the tail, the part buffers and the session's life.
 * - Whole-blob PATCH: a PATCH with no Content-Range and a known Content-Length at offset 0 (how skopeo,
 *   crane and docker-style clients push a layer) is streamed into the data key as one R2 object with a
 *   single put (BlobWriter.putWhole), all or nothing; the state says so (`whole`). Compared with parts
 *   this needs no part buffers, no tail rows for small blobs, one R2 write instead of N + 2, and the
 *   result is a plain object, which R2 (and the local simulator, much more so) reads back faster.
 *   Should another chunk follow, the object is read back and re-cut into parts first (`unwhole`), and
 *   the upload continues below as any other; its digest state is unaffected.
 * - Chunks are re-cut into equal parts (part-writer.ts), in part buffers leased from the isolate-wide
 *   budget (buffer-budget.ts): the call waits for its first buffer before reading the body. When a
 *   request ends, normally or because the client went away mid-chunk, the part in flight is awaited
 *   and whatever was received after the last part becomes the stored tail, so the session rests at a
 *   consistent offset that GET reports and the client can continue from. Tail rows and state are written
 *   in one storage transaction.
 *   Client disconnects: the Worker's request is cancelled but the session's call is not; its body
 *   stream errors, and the call runs to its end and saves every byte that arrived
 *   (test/e2e/large-uploads.test.ts asserts offset = bytes sent). Nothing relies on the Worker
 *   surviving the disconnect.
 *   If a part upload fails, the bytes after the last stored part are gone: the session falls back to
 *   the end of that part, forgets the hasher, and reports CHUNK_NOT_STORED (503) at that offset.
 * - Bodies are always read to their end, even when they will not be used (out-of-order chunk, unknown
 *   session, failed part): workerd resets a connection closed with unread request data, and the reset
 *   throws away the answer already sent, so the client would never see its 416 (the router's catch
 *   does the same for errors raised before the body reaches the session, such as 413).
 * - Digest: a native SHA-256 (storage/hashing.ts) runs over the bytes as they arrive and stays in memory.
 *   It is trusted only while it has seen exactly `offset` bytes. At the final PUT, BlobWriter.commit:
 *     fast path  (hasher intact, sha256): compare before writing the last part; a mismatch aborts the
 *                multipart upload, so nothing is written at all;
 *     read-back  (object evicted or restarted between chunks, a failed part, or sha512): complete the
 *                object, hash it by reading it back from R2 in ranges of 4 parts, and delete it on
 *                mismatch. On R2 that costs size/64 MiB subrequests and the CPU time of hashing the
 *                whole blob in that one PUT (docs/benchmarks.md has the local rate).
 *   Either way the content index is written only after the digest matched.
 * - A whole object that fails its digest is deleted; so is an uncommitted one on cancel or abandonment.
 * - After a successful or failed PUT, and on DELETE, the session ends: its storage is erased.
 *   The final PUT first saves the state as `closing` (with the writer's seal for a whole draft, else
 *   before the writer starts), so from before the content index is written every call answers
 *   UPLOAD_UNKNOWN (404). A successful PUT is answered before its erasure is durable (it runs
 *   unconfirmed, and the next call waits for it in the queue): should it be lost (a restart), the
 *   `closing` state still refuses every call, and the alarm erases it without touching the bytes, which
 *   may be the committed blob's. A failed PUT and DELETE erase before they answer.
 * - Abandonment: every saving call sets touchedAt and pushes the alarm to touchedAt + TTL. The alarm
 *   runs in the same call queue (it never overlaps a chunk in progress), re-checks the deadline, and
 *   then aborts the multipart upload and erases the session with its tail rows (R2 would otherwise keep
 *   incomplete parts for 7 days).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../config";
import { DomainError, type PlainDomainError } from "../domain-errors";
import { parseDigest } from "../../oci/grammar";
import { type BlobDraft, type BlobWriter, WHOLE_OBJECT_MAX_BYTES } from "../storage/blob-writer";
import { BlobStore } from "../storage/blobs";
import { Hasher } from "../storage/hashing";
import { paths } from "../storage/paths";
import { type Lease, partBuffers, uploadBuffers } from "./buffer-budget";
import { reusedChunks } from "./byte-chunks";
import { PartWriter } from "./part-writer";
import { loadTail, saveTail } from "./tail-store";

/** The session's durable state; it is the draft of the blob's writer, too. */
interface SessionState extends BlobDraft {
  repo: string;
  ttlSeconds: number;
  /** When a call last saved the session (ms); the alarm cleans up only after touchedAt + ttl. */
  touchedAt?: number;
  offset: number;
  tailLength: number;
  /**
   * The final PUT has started committing: the session is over, whatever happens next. Saved before the
   * content index is written, so a session whose erasure (`end`) was lost answers UPLOAD_UNKNOWN and its
   * alarm erases it without touching the bytes.
   */
  closing?: boolean;
}

export interface SessionStatus {
  offset: number;
}

export interface CommittedBlob {
  digest: string;
  size: number;
  /** How the digest was checked: the saved hash state ("fast") or reading the object back ("readback"). */
  digestPath: "fast" | "readback";
}

export type SessionResult<T> = { ok: true; value: T } | { ok: false; error: PlainDomainError };

export class UploadSession extends DurableObject<Env> {
  private hasher: Hasher | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** A finished upload's erasure, still running after its answer (endAfterCall). */
  private ending: Promise<void> | null = null;

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
      try {
        const st = await this.load(repo);
        await this.appendTo(st, body, start, length);
        return { offset: st.offset };
      } finally {
        await drain(body);
      }
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
      let st: SessionState;
      try {
        st = await this.load(repo);
        if (body) await this.appendTo(st, body, start, length);
        else if (start !== null && start !== st.offset) throw rangeError(st.offset);
      } finally {
        if (body) await drain(body);
      }
      let committed: CommittedBlob;
      try {
        committed = await this.commit(st, digest);
      } catch (err) {
        // R2 failed under us: the session ends either way, so do not leave its multipart upload behind
        // (a digest mismatch has already cleaned up).
        if (!(err instanceof DomainError)) await this.discard(st).catch(() => undefined);
        await this.end();
        throw err;
      }
      this.endAfterCall(); // the saved state says `closing` already
      return committed;
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

  /**
   * Clean up an abandoned session. Runs in the call queue, so it never overlaps a chunk in progress, and
   * re-reads the deadline: a call that was running when the alarm fired has pushed it since.
   */
  async alarm(): Promise<void> {
    await this.call(async () => {
      const st = await this.ctx.storage.get<SessionState>("state");
      const deadline = st ? (st.touchedAt ?? 0) + st.ttlSeconds * 1000 : 0;
      if (st && Date.now() < deadline) {
        await this.ctx.storage.setAlarm(deadline);
        return;
      }
      // A closing session's bytes may be the committed blob's: only its erasure was lost.
      if (st && !st.closing) await this.discard(st).catch((e) => console.error("session cleanup failed", e));
      await this.end();
    });
  }

  // --- steps -------------------------------------------------------------------------------------

  private async appendTo(
    st: SessionState,
    body: ReadableStream<Uint8Array>,
    start: number | null,
    length: number | null,
  ): Promise<void> {
    if (start !== null && start !== st.offset) throw rangeError(st.offset); // the caller drains the body
    if (this.hasher && this.hasher.bytes !== st.offset) this.hasher = null;
    if (!this.hasher && st.offset === 0) this.hasher = new Hasher();
    if (start === null && st.offset === 0 && length !== null && length > 0 && length <= WHOLE_OBJECT_MAX_BYTES) {
      return this.appendWhole(st, body, length);
    }
    const lease = await uploadBuffers.acquire(st.partSize);
    let writer: PartWriter | null = null;
    try {
      if (st.whole) await this.unwhole(st, lease);
      const oldTail = st.tailLength;
      const first = await loadTail(this.ctx.storage, oldTail, partBuffers.take(st.partSize));
      writer = new PartWriter(this.blob(st), first, oldTail, uploadBuffers, lease);
      await this.receive(st, writer, body, oldTail);
    } finally {
      if (writer) writer.release();
      else lease.release();
    }
  }

  /** Stream `body` through the hasher into `writer`, then store the new tail and state. */
  private async receive(st: SessionState, writer: PartWriter, body: ReadableStream<Uint8Array>, oldTail: number): Promise<void> {
    let received = 0;
    let streamError: unknown = null;
    let writing = true;
    try {
      for await (const value of reusedChunks(body)) {
        if (!writing) continue; // a part failed: read the rest so the client gets the answer (see header)
        if (this.hasher) await this.hasher.write(value);
        received += value.byteLength;
        try {
          await writer.write(value);
        } catch {
          writing = false; // settle() reports the failure
        }
      }
    } catch (err) {
      streamError = err;
    }
    let tail: Uint8Array;
    let partFailed = false;
    try {
      tail = await writer.settle();
      st.offset += received;
    } catch (err) {
      // A part upload failed: the bytes after the last stored part are gone, so fall back to its end.
      console.error("upload part failed", err);
      partFailed = true;
      tail = new Uint8Array(0);
      st.offset = st.parts.length * st.partSize;
      this.hasher = null;
    }
    st.tailLength = tail.length;
    // Tail rows and state in one transaction: rows of a new tail must never meet the old state.
    await this.ctx.storage.transaction(async (txn) => {
      await saveTail(txn, tail, oldTail, writer.partsCut === 0 && !partFailed);
      await this.save(st, txn);
    });
    const offset = st.offset;
    if (partFailed) {
      throw new DomainError("CHUNK_NOT_STORED", `storing the chunk failed; the upload continues from offset ${offset}`, { offset });
    }
    if (streamError) {
      throw new DomainError("CHUNK_INCOMPLETE", `chunk ended early; the upload continues from offset ${offset}`, { offset });
    }
  }

  /** The whole blob in one PATCH: one R2 object, one put. On failure nothing is stored and the offset stays 0. */
  private async appendWhole(st: SessionState, body: ReadableStream<Uint8Array>, length: number): Promise<void> {
    try {
      await this.blob(st).putWhole(reusedChunks(body), length);
    } catch {
      this.hasher = null;
      throw new DomainError("CHUNK_INCOMPLETE", "chunk ended early or did not match its Content-Length; the upload continues from offset 0", {
        offset: 0,
      });
    }
    st.offset = length; // the writer marked the draft `whole`
    await this.save(st);
  }

  /**
   * Another chunk follows a whole-blob PATCH: re-cut the stored object into parts and a tail, with the
   * part buffer the caller leased (`lease`).
   */
  private async unwhole(st: SessionState, lease: Lease): Promise<void> {
    const blob = this.blob(st);
    const whole = await blob.readWhole();
    const writer = new PartWriter(blob, new Uint8Array(st.partSize), 0, uploadBuffers, lease);
    try {
      for await (const chunk of reusedChunks(whole)) await writer.write(chunk);
      const tail = await writer.settle();
      st.tailLength = tail.length;
      st.whole = false;
      await this.ctx.storage.transaction(async (txn) => {
        await saveTail(txn, tail, 0, false);
        await this.save(st, txn);
      });
    } finally {
      writer.releaseSecond(); // the first buffer's lease stays with the caller
    }
    // The bytes are now in parts and the tail; the finished upload will write this key again.
    await blob.dropWhole();
  }

  private async commit(st: SessionState, digestString: string): Promise<CommittedBlob> {
    const digest = parseDigest(digestString);
    // From here the session is over (see `closing`). A whole draft saves it with the writer's seal, which
    // precedes the index; a multipart draft has no seal, so it is saved here, before the writer starts.
    st.closing = true;
    if (!st.whole) await this.save(st);
    const tail = await loadTail(this.ctx.storage, st.tailLength);
    const blob = this.blob(st);
    // The writer checks the digest against the hasher when it saw every byte (as BlobWriter.commit decides), else reads back.
    const fast = this.hasher !== null && this.hasher.bytes === st.offset && digest.algorithm === "sha256";
    this.hasher = null; // the writer has it now; whatever happens, the session ends
    await blob.commit(st.repo, digest, tail);
    return { digest: digestString, size: st.offset, digestPath: fast ? "fast" : "readback" };
  }

  private async discard(st: SessionState): Promise<void> {
    await this.blob(st).cancel();
  }

  /** The blob's writer, on the state as its draft, with the in-memory hasher. */
  private blob(st: SessionState): BlobWriter {
    return new BlobStore(this.env.BUCKET).resumeWriter(st, { size: st.offset, hasher: this.hasher, save: () => this.save(st) });
  }

  // --- state -------------------------------------------------------------------------------------

  private async load(repo: string): Promise<SessionState> {
    const st = await this.ctx.storage.get<SessionState>("state");
    if (!st || st.repo !== repo || st.closing) throw new DomainError("UPLOAD_UNKNOWN");
    return st;
  }

  private async save(st: SessionState, txn: DurableObjectStorage | DurableObjectTransaction = this.ctx.storage): Promise<void> {
    st.touchedAt = Date.now();
    await txn.put("state", st);
    await txn.setAlarm(st.touchedAt + st.ttlSeconds * 1000);
  }

  private async end(): Promise<void> {
    this.hasher = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /**
   * The final PUT's erasure, after its answer: the saved state already says `closing` (before the index
   * was written), so the answer need not wait for the erasure, and if it is lost the state still refuses
   * every call and the alarm erases it. It starts once the answer is on its way (a write issued before
   * would hold the answer until it is durable), and the next call waits for it in the queue (`call`).
   */
  private endAfterCall(): void {
    this.hasher = null;
    this.ending = new Promise<void>((resolve) => setTimeout(resolve, 0))
      .then(() => this.end())
      .catch((e) => console.error("session erase failed", e));
  }

  /** Run one call at a time, and carry DomainErrors across the RPC boundary as plain values. */
  private async call<T>(fn: () => Promise<T>): Promise<SessionResult<T>> {
    const run = this.queue.then(fn, fn);
    // A call that left work behind (`ending`) holds the queue until it is done.
    this.queue = run.catch(() => undefined).then(() => this.takeEnding());
    try {
      return { ok: true, value: await run };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, error: err.toPlain() };
      throw err;
    }
  }

  private takeEnding(): Promise<void> | undefined {
    const e = this.ending;
    this.ending = null;
    return e ?? undefined;
  }
}

/**
 * Read and discard what is left of a request body that will not be used. Answering before the body is
 * consumed makes workerd close the connection with unread data, which resets it (RST), and the client
 * loses the answer (416, 404, 503) that was already on its way.
 */
async function drain(body: ReadableStream<Uint8Array>): Promise<void> {
  if (body.locked) return; // appendTo read it to its end (or it failed, and there is nothing left to read)
  await body.pipeTo(new WritableStream()).catch(() => undefined);
}

function rangeError(offset: number): DomainError {
  return new DomainError("CHUNK_OUT_OF_ORDER", `chunk must start at offset ${offset}`, { offset });
}

