/**
 * The first requester's copy of a blob fill: a byte stream fed by the fill as it goes, with a bounded
 * queue (no tee(): a slow reader never makes the fill buffer without limit). When the queue is full the
 * fill waits for the reader; when the reader has not taken anything for STALL_MS, or has gone away
 * (cancelled), it is detached and the fill goes on at storage speed alone. A detached or failed reader
 * sees its stream error (a short body), never a complete-looking one.
 */
export const FEED_HIGH_WATER_BYTES = 8 * 1024 * 1024;
export const STALL_MS = 30_000;

export class ClientFeed {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private wake: (() => void) | null = null;
  private detached = false;

  constructor(
    private readonly highWater = FEED_HIGH_WATER_BYTES,
    private readonly stallMs = STALL_MS,
  ) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => this.wakeUp(),
        cancel: () => {
          this.detached = true;
          this.wakeUp();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: this.highWater }),
    );
  }

  get attached(): boolean {
    return !this.detached;
  }

  /** Queue a chunk; waits while the queue is full, at most STALL_MS before detaching the reader. */
  async push(chunk: Uint8Array): Promise<void> {
    if (this.detached) return;
    this.controller.enqueue(chunk);
    while (!this.detached && (this.controller.desiredSize ?? 0) <= 0) {
      const woke = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.stallMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.wake = null;
      if (!woke) this.fail(new Error(`reader took nothing for ${this.stallMs} ms: detached, the fill goes on`));
    }
  }

  close(): void {
    if (this.detached) return;
    this.detached = true;
    this.controller.close();
  }

  fail(err: unknown): void {
    if (this.detached) return;
    this.detached = true;
    try {
      this.controller.error(err);
    } catch {
      // already closed
    }
  }

  private wakeUp(): void {
    this.wake?.();
  }
}
