/**
 * What a run reports: what it removed (or, in a dry run, would remove), the bytes freed, how long each
 * phase took, and how many R2 operations it made (in all, and the most in one step). Kept in the
 * coordinator's storage (the last 20 runs), served by /_wharf/gc, and summed up in one log line.
 */

export interface GcCounts {
  blobs: number;
  links: number;
  manifests: number;
  tags: number;
  dataObjects: number;
  /** Bytes of blobs and orphaned data objects. */
  bytes: number;
}

export interface GcReport {
  id: string;
  trigger: string;
  dryRun: boolean;
  state: "running" | "done" | "failed";
  phase: string;
  startedAt: string;
  finishedAt?: string;
  settings: { graceSeconds: number; condemnSeconds: number; stepOperations: number };
  /** What was seen: repositories, manifests, tags, links, index entries, data objects. */
  inventory: { repositories: number; manifests: number; tags: number; links: number; blobs: number; dataObjects: number };
  /** Removed (a dry run: what would be removed). */
  removed: GcCounts;
  /** Condemned candidates that pushes revived before the sweep, or the run's second look pardoned. */
  revived: number;
  /** Up to EXAMPLES names of what went, for people reading the report. */
  examples: { tags: string[]; manifests: string[]; blobs: string[] };
  /** Wall time per phase, ms. */
  phases: Record<string, number>;
  r2Operations: number;
  steps: number;
  maxStepOperations: number;
  error?: string;
}

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
