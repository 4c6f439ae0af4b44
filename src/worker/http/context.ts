/** What every handler receives: the request, settings, storage, the caller, and the route's parameters. */
import type { Caller } from "../auth/caller";
import type { RouteAction } from "../auth/caller";
import type { Env } from "../config";
import type { EventSink } from "../events";
import type { Metrics } from "../metrics";
import type { Settings } from "../settings";
import type { Repositories } from "../repository/client";
import type { RegistryStorage } from "../storage/registry";
import type { UploadSessions } from "../upload/sessions";
import type { RequestLog } from "./request-log";

/**
 * What a route needs from the caller: pull, push or delete on its repository, the catalog, `login` (the
 * API root: anonymous callers are challenged when credentials could grant more), or nothing at all.
 */
export type Action = RouteAction;

export interface RequestContext {
  request: Request;
  url: URL;
  env: Env;
  settings: Settings;
  /** Id of this request: in its log line and the `Wharf-Request-Id` response header. */
  requestId: string;
  /** Who is calling, or null on routes that need nothing (token endpoint, signed blob URLs). */
  caller: Caller | null;
  /** Reads, and blob writes. Manifest and tag mutations go through `repositories`. */
  storage: RegistryStorage;
  /** The per-repository Durable Object that serialises tag and manifest mutations. */
  repositories: Repositories;
  sessions: UploadSessions;
  /** The repository (already checked against the grammar), or "" on routes without one. */
  name: string;
  params: Record<string, string>;
  /** Keep the Worker alive for work after the response (ExecutionContext.waitUntil). */
  waitUntil(promise: Promise<unknown>): void;
  events: EventSink;
  metrics: Metrics;
  /** Fields for this request's one structured log line. */
  log: RequestLog;
  /** Whether the caller may pull from another repository (cross-repository mount). */
  mayPull(repo: string): Promise<boolean>;
  /** Whether the caller may pull every repository (automatic mount without `from`). */
  mayPullAll(): Promise<boolean>;
}

export type Handler = (c: RequestContext) => Promise<Response>;

export const API_VERSION_HEADER = { "Docker-Distribution-API-Version": "registry/2.0" } as const;
