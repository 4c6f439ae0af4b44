/** What every UI page receives: the request, storage, settings, and who is looking. */
import type { AuthSettings } from "../auth/settings";
import type { EventSink } from "../events";
import type { Settings } from "../settings";
import type { Repositories } from "../repository/client";
import type { RegistryStorage } from "../storage/registry";
import type { Viewer } from "./session";

export interface UiContext {
  request: Request;
  url: URL;
  settings: Settings;
  auth: AuthSettings;
  storage: RegistryStorage;
  /** Tag and manifest mutations (serialised per repository), as for the API. */
  repositories: Repositories;
  /** The request's event sink: a delete from a page is reported like one through the API. */
  events: EventSink;
  viewer: Viewer;
  /** The CSRF token forms on this page carry. */
  csrf: string;
  /** CSRF key when the registry has no AUTH_SIGNING_SECRET. */
  csrfFallbackKey: string | undefined;
  /** Keep the Worker alive for work after the response. */
  waitUntil(promise: Promise<unknown>): void;
  /** The route's `ref` parameter (the path after /r/). */
  rest: string;
}

/** May the visitor pull this repository? Everything a page shows goes through this. */
export function mayView(c: UiContext, name: string): boolean {
  return c.viewer.caller.may("pull", name);
}

export function mayDelete(c: UiContext, name: string): boolean {
  return c.settings.DELETE_ENABLED && c.viewer.caller.may("delete", name);
}

export type UiHandler = (c: UiContext) => Promise<Response>;
