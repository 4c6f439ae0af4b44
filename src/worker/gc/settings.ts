/**
 * Garbage collection's settings, as the coordinator and the push path use them: the rows GC_*,
 * RETENTION, IMMUTABLE_TAGS and PROXY_EVICT_AFTER_SECONDS of the one settings table
 * (src/worker/settings.ts; the JSON validators are policy.ts), plus the upload session TTL that orphaned
 * data waits for and the prefixes of the pull-through cache's repositories (UPSTREAMS).
 */
import { readSettings, type Settings } from "../settings";
import type { ImmutableRule, RetentionRule } from "./policy";

export interface GcSettings {
  /** New, still unreferenced content younger than this is left alone (GC_GRACE_SECONDS). */
  graceSeconds: number;
  /** Condemned content waits this long for a revival before it is deleted (GC_CONDEMN_SECONDS). */
  condemnSeconds: number;
  /** At most this many R2 operations per alarm step (GC_STEP_OPERATIONS). */
  stepOperations: number;
  /** Pause between two steps of a run, to spread its load on R2 (GC_STEP_PAUSE_SECONDS). */
  stepPauseSeconds: number;
  /** Upload sessions live this long untouched (UPLOAD_SESSION_TTL_SECONDS): orphaned data waits for it. */
  sessionTtlSeconds: number;
  retention: RetentionRule[];
  immutable: ImmutableRule[];
  /** Cached (pull-through) manifests nobody pulled for this long are evicted; 0: never (PROXY_EVICT_AFTER_SECONDS). */
  proxyEvictSeconds: number;
  /** The upstreams' prefixes: `<prefix>/...` repositories hold the pull-through cache (UPSTREAMS). */
  proxyPrefixes: string[];
}

export function readGcSettings(env: object): GcSettings {
  return gcSettingsOf(readSettings(env));
}

export function gcSettingsOf(s: Settings): GcSettings {
  return {
    graceSeconds: s.GC_GRACE_SECONDS,
    condemnSeconds: s.GC_CONDEMN_SECONDS,
    stepOperations: s.GC_STEP_OPERATIONS,
    stepPauseSeconds: s.GC_STEP_PAUSE_SECONDS,
    sessionTtlSeconds: s.UPLOAD_SESSION_TTL_SECONDS,
    retention: s.RETENTION,
    immutable: s.IMMUTABLE_TAGS,
    proxyEvictSeconds: s.PROXY_EVICT_AFTER_SECONDS,
    proxyPrefixes: s.UPSTREAMS.map((u) => u.prefix),
  };
}
