/**
 * Writes the bytes of a blob fill into one R2 data object, with the commit sequence of uploads: bytes
 * whole → (digest verified by the caller) → content index created if absent → repository link
 * (storage/blobs.ts commit). Interface of the storage BlobWriter (`write`, `size`, `commit(digest)`,
 * `cancel`). Up to WHOLE_OBJECT_MAX_BYTES with a known size the object is one streamed R2 `put` (no part
 * buffers at all: the put's own backpressure bounds memory); larger or of unknown size it is a multipart
 * upload cut into equal parts by the uploads' PartWriter, with part buffers from the isolate's budget.
 * Nothing is visible under the digest before `commit`; `cancel` leaves nothing behind.
 */
import type { Digest } from "../../oci/grammar";
import { BlobStore, type BlobInfo } from "../storage/blobs";
import { paths } from "../storage/paths";
import { uploadBuffers } from "../upload/buffer-budget";
import { openMultipart, type PartLog, PartWriter } from "../upload/part-writer";
import { WHOLE_OBJECT_MAX_BYTES } from "../upload/whole-object";

export class FillBlobWriter {
  readonly dataKey = paths.newData();
  size = 0;
  private whole: { writer: WritableStreamDefaultWriter<Uint8Array>; putting: Promise<unknown> } | null = null;
  private parts: { log: PartLog; writer: PartWriter } | null = null;
  private finished = false;

  private constructor(private readonly bucket: R2Bucket) {}

  /** A writer for `declaredSize` bytes (null: unknown, so multipart). */
  static async open(bucket: R2Bucket, declaredSize: number | null, partSize: number): Promise<FillBlobWriter> {
    const w = new FillBlobWriter(bucket);
    if (declaredSize !== null && declaredSize <= WHOLE_OBJECT_MAX_BYTES) {
      const sized = new FixedLengthStream(declaredSize);
      const putting = bucket.put(w.dataKey, sized.readable);
      putting.catch(() => undefined); // awaited in commit/cancel
      w.whole = { writer: sized.writable.getWriter(), putting };
    } else {
      const lease = await uploadBuffers.acquire(partSize);
      const log: PartLog = { dataKey: w.dataKey, partSize, parts: [] };
      w.parts = { log, writer: new PartWriter(bucket, log, new Uint8Array(partSize), 0, uploadBuffers, lease) };
    }
    return w;
  }

  /** The multipart upload id, once one was started (for cleanup after a crash). */
  get uploadId(): string | undefined {
    return this.parts?.log.uploadId;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.whole) await this.whole.writer.write(chunk);
    else await this.parts!.writer.write(chunk);
    this.size += chunk.byteLength;
  }

  /** Finish the object and make it the blob `digest` of `repo` (the caller has verified the digest). */
  async commit(digest: Digest, repo: string): Promise<BlobInfo> {
    if (this.whole) {
      await this.whole.writer.close();
      await this.whole.putting;
    } else {
      const { log, writer } = this.parts!;
      try {
        const tail = await writer.settle();
        if (!log.uploadId) {
          await this.bucket.put(this.dataKey, tail);
        } else {
          const mp = await openMultipart(this.bucket, log);
          if (tail.length > 0) log.parts.push(await mp.uploadPart(log.parts.length + 1, tail));
          await mp.complete(log.parts);
        }
      } finally {
        writer.release();
      }
    }
    this.finished = true;
    return new BlobStore(this.bucket).commit(repo, digest, this.dataKey, this.size);
  }

  /** Abandon the fill: nothing stays in R2. */
  async cancel(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.whole) {
      await this.whole.writer.abort(new Error("fill cancelled")).catch(() => undefined);
      await this.whole.putting.catch(() => undefined);
      await this.bucket.delete(this.dataKey).catch(() => undefined);
      return;
    }
    const { log, writer } = this.parts!;
    await writer.settle().catch(() => undefined);
    writer.release();
    if (log.uploadId) await this.bucket.resumeMultipartUpload(this.dataKey, log.uploadId).abort().catch(() => undefined);
  }
}
