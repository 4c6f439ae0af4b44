/**
 * Counters, raised through `c.metrics` on the request context (and by background jobs). Owns: the
 * `Metrics` interface, the catalogue of metric names (names.ts, each with its labels), and the Workers
 * Analytics Engine writer with its column layout (analytics.ts). `metricsFor(env.METRICS)` is the writer when
 * the METRICS binding exists and `noMetrics` (drops everything) when it does not.
 */

export interface Metrics {
  /** Add `value` (default 1) to the counter `name`, split by `labels`. Never throws. */
  count(name: string, value?: number, labels?: Record<string, string>): void;
}

export const noMetrics: Metrics = { count() {} };

export { METRICS, type MetricName } from "./names";
export { analyticsMetrics as metricsFor } from "./analytics";
