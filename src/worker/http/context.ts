/** What every handler receives: the request, settings, storage, and the route's parameters. */
import type { RouteAction } from "../auth/caller";
import type { Config, Env } from "../config";
import type { RegistryStorage } from "../storage/registry";
import type { UploadSessions } from "../upload/sessions";

/**
 * What a route needs from the caller: pull, push or delete on its repository, the catalog, `login` (the
 * API root: anonymous callers are challenged when credentials could grant more), or nothing at all.
 */
export type Action = RouteAction;

export interface RequestContext {
  request: Request;
  url: URL;
  env: Env;
  config: Config;
  storage: RegistryStorage;
  sessions: UploadSessions;
  /** The repository (already checked against the grammar), or "" on routes without one. */
  name: string;
  params: Record<string, string>;
  /** Whether the caller may pull from another repository (cross-repository mount). */
  mayPull(repo: string): Promise<boolean>;
  /** Whether the caller may pull every repository (automatic mount without `from`). */
  mayPullAll(): Promise<boolean>;
  /** Keep work going after the response (edge cache puts, pull records). */
  waitUntil(p: Promise<unknown>): void;
}

export type Handler = (c: RequestContext) => Promise<Response>;

export const API_VERSION_HEADER = { "Docker-Distribution-API-Version": "registry/2.0" } as const;
