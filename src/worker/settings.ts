/**
 * Every deployment setting, declared once: its name (the environment variable: wrangler.toml [vars],
 * a wrangler secret, `.dev.vars`, or the environment of `npm start`), its kind and default, whether it is
 * a secret, and one line of doc. The README's configuration table lists exactly these rows (a test
 * checks it), and `npm start` takes the names it passes through from here.
 *
 * `readSettings(env)` parses and validates the whole table once per distinct environment and keeps the
 * result; a malformed value throws `SettingsError`, whose message names the setting and what it expects.
 * The router answers that with 500 UNAVAILABLE-style OCI errors naming the setting (and one log line),
 * and `npm start` refuses to start with the same message.
 *
 * A capability adds its own rows here: `json(parse, ...)` takes the capability's validator, which gets
 * the parsed JSON value and throws `Error("what it expects")`.
 */
import { type AuthDocument, parseAuthDocument } from "./auth/document";
import { parseUpstreams, type Upstream } from "./proxy/upstreams";
import { type ImmutableRule, parseImmutableTags, parseRetention, type RetentionRule } from "./gc/policy";
import { parseWebhooks, type Webhook } from "./events/webhooks";

export interface SettingSpec<T> {
  kind: "flag" | "integer" | "text" | "list" | "json";
  /** The value used when the variable is unset or empty. */
  default: T;
  /** The default as the README writes it. */
  defaultText: string;
  secret: boolean;
  doc: string;
  parse(raw: string): T;
}

interface Options {
  secret?: boolean;
  /** The README's default column, when the default is not simply the value. */
  defaultText?: string;
}

export function flag(dflt: boolean, doc: string, o: Options = {}): SettingSpec<boolean> {
  return {
    kind: "flag", default: dflt, defaultText: o.defaultText ?? String(dflt), secret: !!o.secret, doc,
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (v === "true" || v === "1") return true;
      if (v === "false" || v === "0") return false;
      throw new Error(`expects true or false, got ${JSON.stringify(raw)}`);
    },
  };
}

export function integer(dflt: number, doc: string, o: Options & { min?: number; max?: number } = {}): SettingSpec<number> {
  const min = o.min ?? 0;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  return {
    kind: "integer", default: dflt, defaultText: o.defaultText ?? String(dflt), secret: !!o.secret, doc,
    parse(raw) {
      const n = Number(raw.trim());
      if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new Error(`expects a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      }
      return n;
    },
  };
}

export function text<T extends string | undefined>(dflt: T, doc: string, o: Options & { minLength?: number } = {}): SettingSpec<string | T> {
  return {
    kind: "text", default: dflt, defaultText: o.defaultText ?? (dflt === undefined ? "unset" : String(dflt)), secret: !!o.secret, doc,
    parse(raw) {
      if (o.minLength && raw.length < o.minLength) throw new Error(`expects at least ${o.minLength} characters`);
      return raw;
    },
  };
}

/** An origin, `scheme://host[:port]` with nothing after it. */
export function origin(doc: string, o: Options = {}): SettingSpec<string | undefined> {
  return {
    ...text(undefined, doc, o),
    parse(raw) {
      let u: URL;
      try {
        u = new URL(raw.trim());
      } catch {
        throw new Error(`expects an origin such as http://127.0.0.1:8787, got ${JSON.stringify(raw)}`);
      }
      if (!/^https?:$/.test(u.protocol) || u.origin !== raw.trim().replace(/\/$/, "")) {
        throw new Error(`expects an origin such as http://127.0.0.1:8787 (no path), got ${JSON.stringify(raw)}`);
      }
      return u.origin;
    },
  };
}

export function list(doc: string, o: Options = {}): SettingSpec<readonly string[]> {
  return {
    kind: "list", default: [], defaultText: o.defaultText ?? "empty", secret: !!o.secret, doc,
    parse: (raw) => raw.split(/[\s,]+/).filter(Boolean),
  };
}

export function json<T>(parse: (value: unknown) => T, dflt: T, doc: string, o: Options = {}): SettingSpec<T> {
  return {
    kind: "json", default: dflt, defaultText: o.defaultText ?? "unset", secret: !!o.secret, doc,
    parse(raw) {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (e) {
        throw new Error(`is not JSON: ${(e as Error).message}`);
      }
      return parse(value);
    },
  };
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

export const SETTINGS = {
  BLOB_REDIRECT: flag(true, "blob GETs answer 307 to a signed URL; `false` streams bytes from the Worker"),
  BLOB_URL_SECRET: text(undefined, "HMAC key of the Worker's own signed blob URLs (`/_wharf/blobs/...`)", {
    secret: true, defaultText: "made per data folder by `npm start`",
  }),
  BLOB_URL_ORIGIN: origin("where the Worker's own signed blob URLs point (`http://host:port`); unset: the origin the request came to", {
    defaultText: "unset (`npm start`: wrangler's own port, so blob bytes skip its TCP front)",
  }),
  BLOB_URL_TTL_SECONDS: integer(900, "signed URLs are cut on windows of this size and live 1-2 windows", { min: 1 }),
  R2_ACCESS_KEY_ID: text(undefined, "R2 S3 API access key id; with the other three R2_* set, blob GETs redirect to presigned R2 URLs"),
  R2_SECRET_ACCESS_KEY: text(undefined, "R2 S3 API secret access key", { secret: true }),
  R2_ACCOUNT_ID: text(undefined, "Cloudflare account id of the R2 bucket (for presigned URLs)"),
  R2_BUCKET_NAME: text(undefined, "R2 bucket name (for presigned URLs)"),
  DELETE_ENABLED: flag(true, "`false` answers every DELETE with 405 UNSUPPORTED"),
  UPLOAD_PART_SIZE: integer(DEFAULT_PART_SIZE, "R2 multipart part size in bytes (min 5 MiB); 10,000 parts × 16 MiB = 160 GiB per blob", {
    min: MIN_PART_SIZE, max: 5 * 1024 ** 3, defaultText: "16 MiB",
  }),
  MAX_CHUNK_BYTES: integer(0, "largest PATCH/PUT body in bytes, declared or streamed (413 `SIZE_INVALID` past it; 0: no limit); advertised as `OCI-Chunk-Max-Length`. Set `100000000` behind a Free/Pro zone (locally, it then refuses a plain `docker push` of a layer over 100 MB as the edge does)", {
    defaultText: "`0` (no limit)",
  }),
  UPLOAD_SESSION_TTL_SECONDS: integer(86400, "an upload untouched this long is aborted by its session's alarm", { min: 1 }),
  AUTH_CONFIG: json<AuthDocument | undefined>(parseAuthDocument, undefined, "users and rules, JSON (README \"Authentication\")", { secret: true }),
  AUTH_SIGNING_SECRET: text(undefined, "HMAC key of access and CI tokens, 32+ characters. Required with `AUTH_CONFIG`", {
    secret: true, minLength: 32, defaultText: "unset (`npm start`: made per data folder)",
  }),
  AUTH_ANONYMOUS_PUSH: flag(false, "`true`: anyone may pull, push and delete", {
    defaultText: "`false` (`npm start`: `true` unless `AUTH_CONFIG` or `AUTH_ANONYMOUS_PUSH` is set)",
  }),
  AUTH_REVOKED_TOKENS: list("ids of revoked CI tokens, comma or space separated"),
  AUTH_SERVICE: text("wharf", "`service` in challenges, audience of tokens"),
  AUTH_TOKEN_TTL_SECONDS: integer(300, "lifetime of access tokens from the token endpoint, seconds", { min: 1 }),
  CONTENT_CACHE_SECONDS: integer(5, "manifests by digest and blob metadata may be answered from the isolate's memory and the data centre's Cache API this long after a delete elsewhere (the serving isolate forgets at once; a GET by tag reads the tag from R2 every time and takes only the bytes from memory); `0` turns the cache off", { max: 3600 }),
  UPSTREAMS: json<Upstream[]>(parseUpstreams, [], "pull-through cache upstreams, JSON (README \"Pull-through cache\")", { secret: true }),
  GC_GRACE_SECONDS: integer(86400, "garbage collection leaves new, still unreferenced content younger than this alone (README \"Garbage collection and retention\")"),
  GC_CONDEMN_SECONDS: integer(300, "condemned content waits this long for a push to revive it before garbage collection deletes it"),
  GC_STEP_OPERATIONS: integer(1000, "most R2 operations one garbage collection step (one alarm) makes; keep under the plan's subrequest limit", {
    min: 50, max: 10000,
  }),
  GC_STEP_PAUSE_SECONDS: integer(0, "pause between two garbage collection steps, to spread a run's load on R2"),
  RETENTION: json<RetentionRule[]>(parseRetention, [], "retention policies, JSON: `[{\"repositories\", \"keepLast\", \"keep\", \"olderThanSeconds\", \"untaggedOlderThanSeconds\"}]`", {
    defaultText: "`[]` (keep everything)",
  }),
  IMMUTABLE_TAGS: json<ImmutableRule[]>(parseImmutableTags, [], "tags nobody may move or delete, JSON: `[{\"repositories\": [...], \"tags\": [...]}]`", {
    defaultText: "`[]`",
  }),
  PROXY_EVICT_AFTER_SECONDS: integer(0, "garbage collection drops the cached manifests and tags of pull-through cache repositories that nobody pulled for this long, and their blobs with them (a later pull fetches them again); `0` keeps cached content", {
    defaultText: "`0` (keep)",
  }),
  UI_SESSION_TTL_SECONDS: integer(3600, "lifetime of a web UI sign-in (its session cookie and the token in it), seconds", { min: 60, max: 7 * 86400 }),
  WEBHOOKS: json<readonly Webhook[]>(parseWebhooks, [], "endpoints for registry events, a JSON list (docs/operations.md, \"Webhooks\")", { secret: true, defaultText: "unset (no events)" }),
  WEBHOOK_MAX_ATTEMPTS: integer(10, "deliveries of an event to an endpoint before it goes to the dead-letter queue (backoff 30 s doubling, capped at 1 h: about 4 h)", { min: 1, max: 100 }),
  LOGIN_FAILURES_PER_MINUTE: integer(10, "failed logins per client address a minute before `429 TOOMANYREQUESTS` (0: no limit)"),
  CI_TOKEN_REQUESTS_PER_MINUTE: integer(0, "requests per CI token a minute before `429 TOOMANYREQUESTS` (0: no limit)"),
  LOG_REQUESTS: flag(true, "one structured JSON log line per request (`wrangler tail`); `false` turns them off"),
} satisfies Record<string, SettingSpec<unknown>>;

export type SettingName = keyof typeof SETTINGS;
export type Settings = { readonly [K in SettingName]: (typeof SETTINGS)[K]["default"] | ReturnType<(typeof SETTINGS)[K]["parse"]> };
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** Checks across settings, after each one parsed. Throw SettingsError naming the setting to fix. */
const CROSS_CHECKS: ((s: Settings) => void)[] = [
  (s) => {
    if (s.AUTH_CONFIG && !s.AUTH_SIGNING_SECRET) {
      throw new SettingsError("AUTH_SIGNING_SECRET", "is required when AUTH_CONFIG is set: tokens cannot be signed");
    }
  },
];

/** A setting that is malformed: `message` names the setting and what it expects. */
export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    why: string,
  ) {
    super(`setting ${setting} ${why}`);
    this.name = "SettingsError";
  }
}

/** Parse every setting; throws the first SettingsError. */
export function parseSettings(env: Partial<Record<string, unknown>>): Settings {
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const spec: SettingSpec<unknown> = SETTINGS[name];
    const raw = env[name];
    if (raw === undefined || raw === null || raw === "") {
      out[name] = spec.default;
      continue;
    }
    if (typeof raw !== "string") throw new SettingsError(name, `must be a string (a var or secret), got ${typeof raw}`);
    try {
      out[name] = spec.parse(raw);
    } catch (e) {
      throw new SettingsError(name, (e as Error).message);
    }
  }
  const settings = out as Settings;
  for (const check of CROSS_CHECKS) check(settings);
  return settings;
}

const byEnv = new WeakMap<object, Settings>();
const byValues = new Map<string, Settings>();
const MAX_REMEMBERED = 16;

/**
 * The settings of this environment, parsed once. Workers hand every request the same `env` object, so
 * the first lookup is by identity; environments built per call (tests) are remembered by their values.
 */
export function readSettings(env: object): Settings {
  const hit = byEnv.get(env);
  if (hit) return hit;
  const values = env as Partial<Record<string, unknown>>;
  const key = JSON.stringify(SETTING_NAMES.map((n) => (typeof values[n] === "string" ? values[n] : null)));
  let settings = byValues.get(key);
  if (!settings) {
    settings = parseSettings(values);
    if (byValues.size >= MAX_REMEMBERED) byValues.delete(byValues.keys().next().value!);
    byValues.set(key, settings);
  }
  byEnv.set(env, settings);
  return settings;
}
