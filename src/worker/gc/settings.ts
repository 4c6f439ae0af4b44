/**
 * Garbage collection's settings, read from the environment. (Rows of the one settings table once it
 * exists; the validators in policy.ts are what those rows call.)
 */
import type { Env } from "../config";
import { type ImmutableRule, parseImmutableTags, parseRetention, type RetentionRule } from "./policy";

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
}

export const GC_DEFAULTS = { graceSeconds: 86400, condemnSeconds: 300, stepOperations: 1000 } as const;
export const MIN_STEP_OPERATIONS = 50;
export const MAX_STEP_OPERATIONS = 10_000;

type GcEnv = Partial<Record<"GC_GRACE_SECONDS" | "GC_CONDEMN_SECONDS" | "GC_STEP_OPERATIONS" | "GC_STEP_PAUSE_SECONDS" | "RETENTION" | "IMMUTABLE_TAGS" | "UPLOAD_SESSION_TTL_SECONDS", string>>;

function int(env: GcEnv, name: keyof GcEnv, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function json<T>(env: GcEnv, name: keyof GcEnv, parse: (v: unknown) => T, dflt: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return dflt;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new Error(`${name}: not valid JSON`);
  }
  try {
    return parse(v);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
}

const KEYS = ["GC_GRACE_SECONDS", "GC_CONDEMN_SECONDS", "GC_STEP_OPERATIONS", "GC_STEP_PAUSE_SECONDS", "RETENTION", "IMMUTABLE_TAGS", "UPLOAD_SESSION_TTL_SECONDS"] as const;
const cache = new Map<string, GcSettings>();

/** Parsed once per distinct set of values (the environment rarely changes within an isolate). */
export function readGcSettings(env: Env): GcSettings {
  const e = env as unknown as GcEnv;
  const key = JSON.stringify(KEYS.map((k) => e[k] ?? null));
  const hit = cache.get(key);
  if (hit) return hit;
  const s: GcSettings = {
    graceSeconds: int(e, "GC_GRACE_SECONDS", GC_DEFAULTS.graceSeconds),
    condemnSeconds: int(e, "GC_CONDEMN_SECONDS", GC_DEFAULTS.condemnSeconds),
    stepOperations: int(e, "GC_STEP_OPERATIONS", GC_DEFAULTS.stepOperations, MIN_STEP_OPERATIONS, MAX_STEP_OPERATIONS),
    stepPauseSeconds: int(e, "GC_STEP_PAUSE_SECONDS", 0),
    sessionTtlSeconds: int(e, "UPLOAD_SESSION_TTL_SECONDS", 86400),
    retention: json(e, "RETENTION", parseRetention, []),
    immutable: json(e, "IMMUTABLE_TAGS", parseImmutableTags, []),
  };
  if (cache.size > 20) cache.clear();
  cache.set(key, s);
  return s;
}
