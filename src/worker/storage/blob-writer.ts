/**
 * BlobWriter: the one way bytes become a blob whose digest is checked. The upload session drives one
 * across requests; the pull-through cache's fill, and anything else that stores a blob, uses the same
 * object (`BlobStore.writer`), so the guarantees below hold for every blob in the registry.
 *
 * A blob being written is a draft (`BlobDraft`: plain data, which a Durable Object saves between
 * requests and hands back to `BlobStore.resumeWriter`). Its data object data/<id> is fixed when the
 * writer begins, before the digest is known. The bytes are stored either
 *   - as equal R2 multipart parts (`appendPart`; the multipart upload is created at the first part, so
 *     a blob smaller than one part never becomes a multipart object), followed by the last bytes (less
 *     than one part) that the writer's owner keeps until commit: `write` keeps them in memory, the
 *     upload session in its own Durable Object storage between requests; or
 *   - as one finished R2 object (`putWhole`: one put of a known length; the draft says `whole`).
 *
 * `commit(repo, digest, last)` runs the whole commit sequence, in this order:
 *   1. check early: when a running SHA-256 (hashing.ts) saw every byte and the digest is sha256,
 *      compare before anything more is written; a mismatch cancels the draft, so nothing is stored;
 *   2. last part: the last bytes complete the object (one put below one part; otherwise the last part,
 *      then the multipart upload is completed);
 *   3. check late: without a running hash that saw every byte (lost between requests, a failed part,
 *      sha512), hash the object by reading it back from R2 in windows of 4 parts; a mismatch deletes it;
 *   4. seal: the draft stops being an uncommitted whole object, made durable (`save`) before step 5, so
 *      no later cancel (an upload session's alarm) can delete bytes the index points at;
 *   5. index and link (BlobStore.commit): the content index blobs/<alg>/<hex> is created only if absent,
 *      the loser of two writers of one content deletes its own data object; then the repository's link.
 * Nothing is readable under a digest before step 5, and step 5 runs only after the digest matched.
 * Should R2 fail during commit, the owner cancels the writer; a data object it cannot remove any more
 * (completed, or sealed) is unreferenced and left to garbage collection.
 */
import { DomainError } from "../domain-errors";
import type { Digest } from "../../oci/grammar";
import type { BlobInfo, BlobStore } from "./blobs";
import { Hasher, hashObject } from "./hashing";

/** What a writer has stored so far: saved by the upload session between requests. */
export interface BlobDraft {
  dataKey: string;
  /** Size of every multipart part but the last. */
  partSize: number;
  uploadId?: string;
  parts: R2UploadedPart[];
  /** The data key holds all the bytes as one finished, uncommitted R2 object (putWhole). */
  whole?: boolean;
}

export interface WriterOptions {
  /** Bytes the blob holds so far: parts and last bytes, or the whole object (a resumed draft). Default 0. */
  size?: number;
  /** A running SHA-256 that has seen those bytes, or null when lost. Default: a new one for an empty draft. */
  hasher?: Hasher | null;
  /** Makes the draft durable; called where a saved draft must precede the next R2 step (seal). */
  save?: () => Promise<void>;
}

/** A single R2 put takes up to about 5 GiB; above this, blobs are written in parts. */
export const WHOLE_OBJECT_MAX_BYTES = 4 * 1024 ** 3;

/** The late check reads the object back in ranges of this many parts (64 MiB at the default part size). */
const READ_BACK_PARTS = 4;

export class BlobWriter {
  /** Bytes written so far (the upload session's offset). */
  size: number;
  /** The running hash, while it has seen every byte; null once lost. */
  hasher: Hasher | null;
  private readonly save: () => Promise<void>;
  /** `write`'s bytes after the last full part. */
  private buf: Uint8Array | null = null;
  private fill = 0;

  constructor(
    private readonly bucket: R2Bucket,
    private readonly store: BlobStore,
    readonly draft: BlobDraft,
    options: WriterOptions = {},
  ) {
    this.size = options.size ?? 0;
    this.hasher = options.hasher !== undefined ? options.hasher : this.size === 0 ? new Hasher() : null;
    this.save = options.save ?? (async () => undefined);
  }

  static newDraft(dataKey: string, partSize: number): BlobDraft {
    return { dataKey, partSize, parts: [] };
  }

  /**
   * Append bytes of any size, hashed on the way and cut into parts in memory. For an owner that writes
   * the blob in one go (a cache fill); the upload session cuts its own parts (part-writer.ts).
   */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.draft.whole) throw new Error("BlobWriter.write after putWhole");
    if (this.hasher) await this.hasher.write(chunk);
    this.size += chunk.byteLength;
    let pos = 0;
    while (pos < chunk.length) {
      this.buf ??= new Uint8Array(this.draft.partSize);
      const n = Math.min(chunk.length - pos, this.buf.length - this.fill);
      this.buf.set(chunk.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      if (this.fill === this.buf.length) {
        await this.appendPart(this.buf);
        this.fill = 0;
      }
    }
  }

  /**
   * Append one full part (exactly partSize bytes) to the multipart object. The caller feeds the hasher
   * and counts the bytes (`size` does not change): the session does both as chunks arrive.
   */
  async appendPart(part: Uint8Array): Promise<void> {
    const mp = await this.multipart();
    const uploaded = await mp.uploadPart(this.draft.parts.length + 1, part);
    this.draft.parts.push({ partNumber: uploaded.partNumber, etag: uploaded.etag });
  }

  /**
   * The whole blob as one object, with a single put: exactly `length` bytes of `chunks` (a body read
   * with upload/byte-chunks.ts, say), hashed on the way.
   * All or nothing: chunks shorter or longer than `length`, or a failed put, stores nothing and throws
   * (and the running hash is lost). Only on an empty draft, for up to WHOLE_OBJECT_MAX_BYTES.
   * `onHashed` gets the hex SHA-256 of all `length` bytes as soon as the last chunk is hashed, before
   * that chunk is written (a cache fill answers its client then, see proxy/fill.ts).
   */
  async putWhole(chunks: AsyncIterable<Uint8Array>, length: number, onHashed?: (sha256Hex: string) => Promise<void>): Promise<void> {
    if (this.size !== 0 || this.draft.uploadId || length > WHOLE_OBJECT_MAX_BYTES) throw new Error("BlobWriter.putWhole needs an empty draft");
    const sized = new FixedLengthStream(length);
    const putting = this.bucket.put(this.draft.dataKey, sized.readable);
    putting.catch(() => undefined); // awaited below; a failure must not surface as unhandled meanwhile
    const writer = sized.writable.getWriter();
    try {
      for await (const chunk of chunks) {
        if (this.hasher) {
          await this.hasher.write(chunk);
          if (onHashed && this.hasher.bytes === length) await onHashed(await this.hasher.hex());
        }
        await writer.write(chunk);
      }
      await writer.close();
      await putting;
    } catch (err) {
      this.hasher = null;
      await writer.abort(err).catch(() => undefined);
      await putting.catch(() => undefined);
      throw err;
    }
    this.draft.whole = true;
    this.size = length;
  }

  /** The bytes of a whole object (putWhole), to be re-cut into parts when more bytes follow. */
  async readWhole(): Promise<ReadableStream<Uint8Array>> {
    const obj = await this.bucket.get(this.draft.dataKey);
    if (!obj || obj.size !== this.size) throw new Error(`upload object ${this.draft.dataKey} missing or of the wrong size`);
    return obj.body;
  }

  /**
   * Delete the whole object once its bytes are in parts and the draft, no longer `whole`, is saved
   * (the completed multipart upload will write this key again).
   */
  async dropWhole(): Promise<void> {
    if (this.draft.whole) throw new Error("BlobWriter.dropWhole on a whole draft");
    await this.bucket.delete(this.draft.dataKey);
  }

  /**
   * Steps 1 to 5 of the header. `last` are the bytes after the last part, when the owner kept them
   * (the upload session); by default those `write` buffered.
   */
  async commit(repo: string, digest: Digest, last?: Uint8Array): Promise<BlobInfo> {
    const rest = last ?? (this.buf ? this.buf.subarray(0, this.fill) : new Uint8Array(0));
    const stored = this.draft.whole ? this.size : this.draft.parts.length * this.draft.partSize + rest.length;
    if (stored !== this.size || (this.draft.whole && rest.length > 0)) {
      throw new Error(`blob writer holds ${stored} bytes, expected ${this.size}`);
    }
    const hasher = this.hasher;
    this.hasher = null;
    const early = hasher !== null && hasher.bytes === this.size && digest.algorithm === "sha256";
    if (early && (await hasher.hex()) !== digest.hex) {
      await this.cancel();
      throw mismatch(digest);
    }
    await this.writeLast(rest);
    if (!early) await this.checkStored(digest);
    await this.seal();
    this.buf = null;
    return this.store.commit(repo, digest, this.draft.dataKey, this.size);
  }

  /** Drop the draft: abort its multipart upload, delete a whole object. Never after commit's seal. */
  async cancel(): Promise<void> {
    this.hasher = null;
    this.buf = null;
    this.fill = 0;
    if (this.draft.uploadId) await this.bucket.resumeMultipartUpload(this.draft.dataKey, this.draft.uploadId).abort();
    if (this.draft.whole) await this.bucket.delete(this.draft.dataKey);
  }

  // --- commit steps ------------------------------------------------------------------------------

  /** Step 2: the last part (or, for a blob smaller than one part, the whole object). */
  private async writeLast(rest: Uint8Array): Promise<void> {
    if (this.draft.whole) return; // already one finished object
    if (!this.draft.uploadId) {
      await this.bucket.put(this.draft.dataKey, rest);
      return;
    }
    const mp = await this.multipart();
    if (rest.length > 0) this.draft.parts.push(await mp.uploadPart(this.draft.parts.length + 1, rest));
    await mp.complete(this.draft.parts);
  }

  /** Step 3: read the finished object back and hash it; on a mismatch delete it. */
  private async checkStored(digest: Digest): Promise<void> {
    const key = this.draft.dataKey;
    const actual = await hashObject(this.bucket, key, this.size, digest.algorithm, READ_BACK_PARTS * this.draft.partSize);
    if (actual === digest.hex) return;
    await this.bucket.delete(key);
    throw mismatch(digest);
  }

  /** Step 4: from here the object is the blob's; no later cleanup may delete it. */
  private async seal(): Promise<void> {
    if (!this.draft.whole) return;
    this.draft.whole = false;
    await this.save();
  }

  private async multipart(): Promise<R2MultipartUpload> {
    if (this.draft.uploadId) return this.bucket.resumeMultipartUpload(this.draft.dataKey, this.draft.uploadId);
    const mp = await this.bucket.createMultipartUpload(this.draft.dataKey);
    this.draft.uploadId = mp.uploadId;
    return mp;
  }
}

function mismatch(digest: Digest): DomainError {
  return new DomainError("DIGEST_MISMATCH", `uploaded content does not match digest ${digest}`);
}
