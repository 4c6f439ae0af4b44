/**
 * The Worker's environment: its bindings (wrangler.toml) and the raw strings of its settings. What each
 * setting means, its default and how it is checked is declared once in src/worker/settings.ts; code reads
 * the parsed values through `readSettings(env)` (on the request context as `c.settings`).
 */
import type { SettingName } from "./settings";

export interface Bindings {
  BUCKET: R2Bucket;
  UPLOADS: DurableObjectNamespace<import("./upload/session").UploadSession>;
  /** One object per repository name: serialises its tag and manifest mutations (src/worker/repository/). */
  REPOSITORIES: DurableObjectNamespace<import("./repository/object").Repository>;
  /** One BlobFill Durable Object per digest: pull-through cache fills (src/worker/proxy/fill.ts). */
  FILLS: DurableObjectNamespace<import("./proxy/fill").BlobFill>;
  /** The garbage collection coordinator (one object, named "gc"). */
  GC: DurableObjectNamespace<import("./gc/coordinator").GcCoordinator>;
  /** Failed-login and CI-token counters (src/worker/limits/). Without it nothing is limited. */
  LIMITER?: DurableObjectNamespace<import("./limits/rate-window").RateWindow>;
  /** Registry events for WEBHOOKS, and where undeliverable ones go (src/worker/events/). */
  EVENTS?: Queue<import("./events/sink").DeliveryMessage>;
  EVENTS_DLQ?: Queue<import("./events/deliver").DeadLetter>;
  /** Workers Analytics Engine dataset for counters (src/worker/metrics/); absent: no counters. */
  METRICS?: AnalyticsEngineDataset;
}

export type Env = Bindings & Partial<Record<SettingName, string>>;

/** Largest manifest accepted (the spec's floor is 4 MB); larger is 413. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
