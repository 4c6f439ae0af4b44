/**
 * Counters, raised through `c.metrics` on the request context (and by background jobs). This module is
 * the seam: `noMetrics` drops them. Workers Analytics Engine plugs in by giving the context another
 * `Metrics`; callers do not change.
 */

export interface Metrics {
  /** Add `value` (default 1) to the counter `name`, split by `labels`. Never throws. */
  count(name: string, value?: number, labels?: Record<string, string>): void;
}

export const noMetrics: Metrics = { count() {} };
