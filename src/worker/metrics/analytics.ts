/**
 * Counters in Workers Analytics Engine (the METRICS binding, dataset "wharf" in wrangler.toml); without
 * the binding every count is a no-op. Each `count` is one data point, written without waiting (Analytics
 * Engine buffers them; nothing here can slow or fail a request):
 *
 *     index1  = metric name                (the sampling key: each metric is sampled on its own)
 *     blob1   = metric name
 *     blob2   = route      (router pattern, e.g. "/v2/:name+/manifests/:reference")
 *     blob3   = status     (HTTP status, as text)
 *     blob4   = repository
 *     blob5   = kind       (the metric's own distinction: fast|readback, hit|miss, blob|manifest, basic|token ...)
 *     blob6   = any other labels, "k=v" joined with "&", sorted
 *     double1 = value      (1 for a count, bytes for a byte counter)
 *
 * Analytics Engine samples heavy series, so dashboards sum `_sample_interval * double1`, never count()
 * rows (docs/operations.md has the queries). The metric names are in names.ts.
 */
import { type Metrics, noMetrics } from "./index";

export type Labels = Record<string, string | number | undefined>;

/** The parts of Analytics Engine's binding used here (structural, so Node tools can import this file). */
export interface DataPoint {
  indexes: string[];
  blobs: string[];
  doubles: number[];
}
export interface Dataset {
  writeDataPoint(point: DataPoint): void;
}

/** The labels that have their own blob column, in column order (blob2 ...). */
export const LABEL_COLUMNS = ["route", "status", "repository", "kind"] as const;

/** The data point one count becomes (exported for the layout test). */
export function dataPoint(name: string, value: number, labels: Labels): DataPoint {
  const cols = LABEL_COLUMNS.map((k) => (labels[k] === undefined ? "" : String(labels[k])));
  const rest = Object.keys(labels)
    .filter((k) => !(LABEL_COLUMNS as readonly string[]).includes(k) && labels[k] !== undefined)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join("&");
  return { indexes: [name], blobs: [name, ...cols, rest], doubles: [value] };
}

export function analyticsMetrics(dataset: Dataset | undefined): Metrics {
  if (!dataset) return noMetrics;
  return {
    count(name, value = 1, labels = {}) {
      if (!Number.isFinite(value) || value === 0) return;
      try {
        dataset.writeDataPoint(dataPoint(name, value, labels));
      } catch (e) {
        // Over the per-invocation data point limit, or the binding is misconfigured: never fail a request for it.
        console.error(JSON.stringify({ job: "metrics", metric: name, error: String(e) }));
      }
    },
  };
}
