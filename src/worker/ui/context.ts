/** What every UI page receives: the request, storage, settings, and who is looking. */
import type { AuthSettings } from "../auth/settings";
import type { Config, Env } from "../config";
import type { RegistryStorage } from "../storage/registry";
import type { Viewer } from "./session";

export interface UiContext {
  request: Request;
  url: URL;
  env: Env;
  config: Config;
  auth: AuthSettings;
  storage: RegistryStorage;
  viewer: Viewer;
  /** The CSRF token forms on this page carry. */
  csrf: string;
  /** The part of the path after the route's prefix (e.g. the reference after /r/). */
  rest: string;
}

export type UiHandler = (c: UiContext) => Promise<Response>;

/** May the visitor pull this repository? Everything a page shows goes through this. */
export function mayView(c: UiContext, name: string): boolean {
  return c.viewer.caller.may("pull", name);
}

export function mayDelete(c: UiContext, name: string): boolean {
  return c.config.deleteEnabled && c.viewer.caller.may("delete", name);
}
