/**
 * Deployment settings, read once per request from the Worker's environment (wrangler.toml [vars],
 * `.dev.vars`, `wrangler dev --var`, or wrangler secrets in production).
 */
import type { AuthEnv } from "./auth/settings";

/** Settings and bindings; the AUTH_* settings are described in src/worker/auth/settings.ts (AuthEnv). */
export interface Env extends AuthEnv {
  BUCKET: R2Bucket;
  UPLOADS: DurableObjectNamespace<import("./upload/session").UploadSession>;
  /** Failed-login and CI-token counters (src/worker/limits/). Without it nothing is limited. */
  LIMITER?: DurableObjectNamespace<import("./limits/rate-window").RateWindow>;
  /** Registry events for WEBHOOKS, and where undeliverable ones go (src/worker/events/). */
  EVENTS?: Queue<import("./events/sink").DeliveryMessage>;
  EVENTS_DLQ?: Queue<import("./events/deliver").DeadLetter>;
  /** Workers Analytics Engine dataset for counters (src/worker/metrics/); absent: no counters. */
  METRICS?: AnalyticsEngineDataset;
  WEBHOOKS?: string;
  WEBHOOK_MAX_ATTEMPTS?: string;
  TEST_RECEIVER?: string;
  /** "false" streams blob bytes from the Worker instead of redirecting to a signed URL. */
  BLOB_REDIRECT?: string;
  /** "false" answers every DELETE with 405 UNSUPPORTED. */
  DELETE_ENABLED?: string;
  /** HMAC key of the Worker's own signed blob URLs. Required when redirects are on and no R2 S3 credentials are set. */
  BLOB_URL_SECRET?: string;
  /** Lifetime of a signed blob URL, seconds (URLs are cut on windows of this size so repeated pulls share one URL). */
  BLOB_URL_TTL_SECONDS?: string;
  /** Size of every R2 multipart part but the last, bytes. Default 16 MiB: 10,000 parts hold 160 GiB. */
  UPLOAD_PART_SIZE?: string;
  /** Largest PATCH/PUT body accepted in one request (0 = no limit). Advertised as OCI-Chunk-Max-Length. */
  MAX_CHUNK_BYTES?: string;
  /** An upload session untouched this long is aborted by its alarm, seconds. */
  UPLOAD_SESSION_TTL_SECONDS?: string;
  /** R2 S3 API credentials: when all four are set, blob GETs redirect to presigned R2 URLs. */
  R2_ACCESS_KEY_ID?: string;
  R2_SECRET_ACCESS_KEY?: string;
  R2_ACCOUNT_ID?: string;
  R2_BUCKET_NAME?: string;
}

export interface Config {
  blobRedirect: boolean;
  deleteEnabled: boolean;
  blobUrlSecret: string | undefined;
  blobUrlTtlSeconds: number;
  partSize: number;
  maxChunkBytes: number;
  sessionTtlSeconds: number;
  r2Presign?: { accessKeyId: string; secretAccessKey: string; accountId: string; bucket: string };
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function int(v: string | undefined, dflt: number): number {
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`invalid numeric setting: ${v}`);
  return n;
}

export function readConfig(env: Env): Config {
  const partSize = int(env.UPLOAD_PART_SIZE, DEFAULT_PART_SIZE);
  if (partSize < MIN_PART_SIZE) throw new Error(`UPLOAD_PART_SIZE must be at least ${MIN_PART_SIZE}`);
  const presign =
    env.R2_ACCESS_KEY_ID && env.R2_SECRET_ACCESS_KEY && env.R2_ACCOUNT_ID && env.R2_BUCKET_NAME
      ? {
          accessKeyId: env.R2_ACCESS_KEY_ID,
          secretAccessKey: env.R2_SECRET_ACCESS_KEY,
          accountId: env.R2_ACCOUNT_ID,
          bucket: env.R2_BUCKET_NAME,
        }
      : undefined;
  return {
    blobRedirect: env.BLOB_REDIRECT !== "false",
    deleteEnabled: env.DELETE_ENABLED !== "false",
    blobUrlSecret: env.BLOB_URL_SECRET || undefined,
    blobUrlTtlSeconds: int(env.BLOB_URL_TTL_SECONDS, 900),
    partSize,
    maxChunkBytes: int(env.MAX_CHUNK_BYTES, 0),
    sessionTtlSeconds: int(env.UPLOAD_SESSION_TTL_SECONDS, 24 * 3600),
    r2Presign: presign,
  };
}
