/**
 * What a garbage collection run reports, as `/_wharf/gc` answers it: the wire type shared by the Worker
 * that keeps the reports (src/worker/gc/report.ts) and the clients that print them (`wharf gc`).
 * What it removed (or, in a dry run, would remove), the bytes freed, how long each phase took, and how
 * many R2 operations it made (in all, and the most in one step).
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
  /** Up to EXAMPLES (src/worker/gc/report.ts) names of what went, for people reading the report. */
  examples: { tags: string[]; manifests: string[]; blobs: string[] };
  /** Wall time per phase, ms. */
  phases: Record<string, number>;
  r2Operations: number;
  steps: number;
  maxStepOperations: number;
  error?: string;
}
