/**
 * Re-cuts a stream of chunks of any sizes into equal R2 multipart parts (R2 requires every part but the
 * last to have the same size, at least 5 MiB). Holds at most two part buffers, used in turn: one
 * uploading while the other fills (allocating one per part left tens of MiB of garbage per request
 * for the GC; docs/benchmarks.md has the measurement). The second buffer comes from the
 * isolate's budget (buffer-budget.ts) only when it has room; without it, each part is uploaded before
 * the same buffer is refilled. Each full part goes to the blob's writer (storage/blob-writer.ts
 * appendPart), which creates the multipart upload at the first one.
 */

import type { BlobWriter } from "../storage/blob-writer";
import { type ByteBudget, type Lease, partBuffers } from "./buffer-budget";

export class PartWriter {
  private buf: Uint8Array;
  private fill: number;
  /** The other buffer, free again once its part is uploaded. */
  private spare: Uint8Array | null = null;
  /** The second buffer's lease, or "refused" when the budget had no room for it. */
  private second: Lease | "refused" | null = null;
  private inflight: Promise<void> | null = null;
  /** The first failed part upload: once set, the writer refuses everything (bytes after a lost part mean nothing). */
  private failure: { error: unknown } | null = null;
  /** Parts cut during this writer's life (so the caller knows whether the old tail was consumed). */
  partsCut = 0;

  /**
   * `first` is a buffer of one part size whose first `fill` bytes are the stored tail, held under
   * `firstLease`; release() gives it back with the second buffer's lease.
   */
  private readonly partSize: number;

  constructor(
    private readonly blob: BlobWriter,
    first: Uint8Array,
    fill: number,
    private readonly budget: ByteBudget,
    private readonly firstLease: Lease,
  ) {
    this.partSize = blob.draft.partSize;
    if (first.length !== this.partSize || fill > first.length) throw new Error("part buffer of the wrong size");
    this.buf = first;
    this.fill = fill;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure.error;
    this.firstLease.renew();
    if (this.second && this.second !== "refused") this.second.renew();
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(chunk.length - pos, this.buf.length - this.fill);
      this.buf.set(chunk.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      if (this.fill === this.buf.length) await this.cut();
    }
  }

  /**
   * Wait for the part in flight; returns the bytes left over (the new tail). Throws if any part upload
   * of this writer failed, even one whose failure was already reported by write().
   */
  async settle(): Promise<Uint8Array> {
    await this.drain();
    if (this.failure) throw this.failure.error;
    return this.buf.subarray(0, this.fill);
  }

  private async drain(): Promise<void> {
    const pending = this.inflight;
    this.inflight = null;
    if (!pending) return;
    try {
      await pending;
    } catch (error) {
      this.failure ??= { error };
    }
  }

  private async cut(): Promise<void> {
    await this.drain();
    if (this.failure) throw this.failure.error;
    const part = this.buf;
    this.partsCut++;
    this.fill = 0;
    if (!this.spare && this.second === null) {
      this.second = this.budget.tryAcquire(this.partSize) ?? "refused";
      if (this.second !== "refused") this.spare = partBuffers.take(this.partSize);
    }
    if (!this.spare) {
      // One buffer only: upload the part, then refill the same buffer.
      try {
        await this.upload(part);
      } catch (error) {
        this.failure ??= { error };
        throw error;
      }
      return;
    }
    this.buf = this.spare;
    this.spare = null;
    this.inflight = this.upload(part).then(() => {
      this.spare = part;
    });
    // A failure surfaces at the next cut or at settle(); keep it from being reported as unhandled.
    this.inflight.catch(() => undefined);
  }

  /** Give the buffers' bytes back to the budget. Call once, after settle() (or when it threw). */
  release(): void {
    // After settle() no upload holds a buffer; after a failed one, keep nothing (it might still be read).
    if (!this.failure && !this.inflight) {
      partBuffers.give(this.buf);
      if (this.spare) partBuffers.give(this.spare);
    }
    this.firstLease.release();
    this.releaseSecond();
  }

  /** Give back only the second buffer's lease (the first stays with whoever passed it in). */
  releaseSecond(): void {
    if (this.second && this.second !== "refused") this.second.release();
    this.second = null;
    this.spare = null;
  }

  private upload(part: Uint8Array): Promise<void> {
    return this.blob.appendPart(part);
  }
}
