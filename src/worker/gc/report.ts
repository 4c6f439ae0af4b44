/**
 * A run's report (its shape, the wire type of /_wharf/gc, is src/client/gc-report.ts): kept in the
 * coordinator's storage (the last 20 runs), served by /_wharf/gc, and summed up in one log line.
 */
import type { GcCounts, GcReport } from "../../client/gc-report";

export type { GcCounts, GcReport };

export const EXAMPLES = 20;

export function emptyCounts(): GcCounts {
  return { blobs: 0, links: 0, manifests: 0, tags: 0, dataObjects: 0, bytes: 0 };
}

export function example(list: string[], item: string): void {
  if (list.length < EXAMPLES) list.push(item);
}

/** The one log line per run. */
export function logLine(r: GcReport): string {
  const ms = Object.values(r.phases).reduce((a, b) => a + b, 0);
  return JSON.stringify({
    message: `gc ${r.dryRun ? "dry run" : "run"} ${r.id} ${r.state}: ${r.dryRun ? "would remove" : "removed"} ${r.removed.blobs} blobs, ${r.removed.manifests} manifests, ${r.removed.tags} tags, ${r.removed.links} links, ${r.removed.dataObjects} data objects (${r.removed.bytes} bytes) in ${ms} ms, ${r.r2Operations} R2 operations`,
    gc: { id: r.id, state: r.state, dryRun: r.dryRun, removed: r.removed, revived: r.revived, phases: r.phases, r2Operations: r.r2Operations, steps: r.steps, maxStepOperations: r.maxStepOperations, error: r.error },
  });
}
