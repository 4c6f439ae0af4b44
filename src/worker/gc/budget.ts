/**
 * The per-step R2 budget: a bucket that counts every call made through it (each is one subrequest), so a
 * step stops starting new work before it would pass GC_STEP_OPERATIONS (the Workers limit is 1,000
 * subrequests per invocation on some plans, 10,000 on paid ones, 50 on Free).
 */
export class Budget {
  used = 0;
  readonly bucket: R2Bucket;

  constructor(
    raw: R2Bucket,
    readonly limit: number,
  ) {
    this.bucket = new Proxy(raw, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          this.used++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  /** Room for `cost` more operations in this step? */
  has(cost = 1): boolean {
    return this.used + cost <= this.limit;
  }

  get left(): number {
    return Math.max(0, this.limit - this.used);
  }
}

/** Run `fn` over items with at most `n` in flight (a Worker keeps 6 connections open). */
export async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}
