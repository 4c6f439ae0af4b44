/**
 * A sliding one-minute window of events, kept by one Durable Object per key (RateWindow). The pure part
 * (`Window`) is here so its arithmetic is testable without a Durable Object.
 *
 * A window holds the times of at most `limit` recent events. The key is "locked" while `limit` events
 * fall inside the last WINDOW_MS; it unlocks when the oldest of them leaves the window, which is what
 * Retry-After says.
 */
export const WINDOW_MS = 60_000;

export class Window {
  constructor(private times: number[] = []) {}

  /** Drop events older than the window. */
  private prune(now: number): void {
    const from = now - WINDOW_MS;
    let i = 0;
    while (i < this.times.length && this.times[i] <= from) i++;
    if (i) this.times = this.times.slice(i);
  }

  /** Milliseconds until another event is allowed under `limit` (0: allowed now). */
  waitMs(limit: number, now: number): number {
    this.prune(now);
    if (this.times.length < limit) return 0;
    return this.times[this.times.length - limit] + WINDOW_MS - now;
  }

  /** Record an event; keeps only the `limit` newest (older ones cannot decide anything). */
  record(limit: number, now: number): void {
    this.prune(now);
    this.times.push(now);
    if (this.times.length > limit) this.times = this.times.slice(this.times.length - limit);
  }

  get events(): readonly number[] {
    return this.times;
  }

  /** When the newest event leaves the window (nothing to keep after that). */
  expiresAt(): number | null {
    return this.times.length ? this.times[this.times.length - 1] + WINDOW_MS : null;
  }
}

/** Whole seconds for Retry-After: never 0 while locked. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
