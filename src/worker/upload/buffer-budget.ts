/**
 * How many bytes of part buffers the upload sessions of one isolate may hold at once.
 *
 * Durable Objects of one class may share an isolate, and with it the 128 MB memory limit. A session
 * writing with two 16 MiB part buffers holds about 36 MiB (with its tail rows), so a few concurrent
 * pushes landing on one isolate would exceed the limit. Every session therefore takes its part buffers
 * from this budget: the first one it waits for (a session needs one buffer to make progress), the second
 * (which only lets one part upload while the next fills) it takes only when the budget has room, and
 * otherwise uploads each part before refilling the same buffer. A budget smaller than one part still
 * lets one session through at a time, so nothing can wait forever.
 */
/** Bytes held from a budget; the holder renews it while it makes progress and releases it once. */
export interface Lease {
  readonly bytes: number;
  renew(): void;
  release(): void;
}

export class ByteBudget {
  private readonly leases = new Set<{ bytes: number; renewedAt: number }>();

  constructor(
    readonly limit: number,
    /** How often a waiting acquire looks again, ms. */
    private readonly pollMs = 25,
    /**
     * A lease not renewed for this long is dropped: a call cut off without running its `finally` (its
     * object reset mid-call) must not shrink the budget of the isolate forever.
     */
    private readonly staleMs = 120_000,
  ) {}

  get inUse(): number {
    const now = Date.now();
    let used = 0;
    for (const l of this.leases) {
      if (now - l.renewedAt > this.staleMs) this.leases.delete(l);
      else used += l.bytes;
    }
    return used;
  }

  /**
   * Take `bytes`, waiting until they fit. Waiters poll: a promise created by one Durable Object cannot
   * be resolved from another one sharing the isolate ("Cannot perform I/O on behalf of a different
   * Durable Object"), so a release cannot wake them directly. Not first-come-first-served.
   */
  async acquire(bytes: number): Promise<Lease> {
    for (;;) {
      const lease = this.tryAcquire(bytes);
      if (lease) return lease;
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  /** Take `bytes` only if they fit now (or nothing else is held). */
  tryAcquire(bytes: number): Lease | null {
    const used = this.inUse;
    if (used > 0 && used + bytes > this.limit) return null;
    const entry = { bytes, renewedAt: Date.now() };
    this.leases.add(entry);
    return {
      bytes,
      renew: () => {
        entry.renewedAt = Date.now();
      },
      release: () => {
        this.leases.delete(entry);
      },
    };
  }
}

/**
 * Part buffers given back by finished calls, for the next call to take instead of allocating: a chunked
 * push of 1 GiB in 16 MiB chunks otherwise allocated two fresh 16 MiB buffers per PATCH (2 GiB of
 * garbage), and workerd's RSS grew by that much more than the bytes in use (docs/benchmarks.md). Keeps at
 * most `max` free buffers (all of one size: a different part size empties it), so an idle isolate holds
 * at most that many; buffers in use are counted by the budget above, as before.
 */
export class BufferPool {
  private free: Uint8Array<ArrayBuffer>[] = [];

  constructor(private readonly max = 2) {}

  take(size: number): Uint8Array<ArrayBuffer> {
    const buf = this.free.pop();
    if (buf && buf.length === size) return buf;
    this.free = [];
    return new Uint8Array(size);
  }

  /** Give back a whole buffer (not a view) no reader or upload still uses. */
  give(buf: Uint8Array): void {
    if (!(buf.buffer instanceof ArrayBuffer) || buf.byteOffset !== 0 || buf.byteLength !== buf.buffer.byteLength) return;
    if (this.free.length && this.free[0].length !== buf.length) this.free = [];
    if (this.free.length < this.max && !this.free.includes(buf as Uint8Array<ArrayBuffer>)) this.free.push(buf as Uint8Array<ArrayBuffer>);
  }

  get size(): number {
    return this.free.length;
  }
}

export const partBuffers = new BufferPool();

/** Part buffers of all upload sessions in this isolate: half the 128 MB limit. */
export const UPLOAD_BUFFER_BUDGET = 64 * 1024 * 1024;
export const uploadBuffers = new ByteBudget(UPLOAD_BUFFER_BUDGET);
