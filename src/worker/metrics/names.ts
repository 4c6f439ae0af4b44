/**
 * Every metric Wharf counts, with its labels (columns in analytics.ts). docs/operations.md has a
 * dashboard query for each; a test checks that every name here appears there.
 */
export const METRICS = {
  /** One per request. route, status, repository. */
  requests: "requests",
  /** Request body bytes read. route, repository. */
  bytes_in: "bytes_in",
  /** Response body bytes sent (Content-Length; redirects send none). route, repository. */
  bytes_out: "bytes_out",
  /** Finished blob uploads. kind: "fast" (digest from the saved hash state), "readback" (object read back to hash it) or "monolithic" (POST ?digest=). repository. */
  upload_commits: "upload_commits",
  /** Pull-through cache. kind: "hit" | "miss". repository. */
  proxy_requests: "proxy_requests",
  /** Bytes fetched from upstreams. repository. */
  proxy_bytes: "proxy_bytes",
  /** Objects deleted by garbage collection. kind: "blob" | "manifest" | "upload" ... */
  gc_deletions: "gc_deletions",
  /** Bytes freed by garbage collection. */
  gc_bytes_freed: "gc_bytes_freed",
  /** Failed logins. kind: "basic" (Basic on /v2/) | "token" (token endpoint); status 401 or 429 (refused before hashing). */
  login_failures: "login_failures",
  /** Events handed to webhook endpoints, by outcome. kind: "delivered" | "retry" | "dead-lettered" | "dropped". */
  webhook_deliveries: "webhook_deliveries",
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];
