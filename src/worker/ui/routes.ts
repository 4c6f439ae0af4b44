/**
 * The web UI (src/worker/ui/): server-rendered pages at `/` and below, for the paths the OCI API
 * (`/v2`) and Wharf's internal routes (`/_wharf`) do not use, from the same storage and with the same
 * access rules as the API. Its rows sit in the one route table (src/worker/router.ts, group UI), whose
 * errors this folder renders as HTML pages (errors.ts).
 *
 * This folder owns: the page handlers below (each row's handler), pages (pages/), HTML templating
 * with escaping by default (html.ts), the page shell and its Content-Security-Policy (layout.ts), the
 * two static assets (assets.ts), sessions, CSRF and cookies (session.ts), and the read model over
 * storage (data.ts). It reads and deletes only through src/worker/storage, and decides what a visitor
 * sees with the API's Caller (src/worker/auth): an anonymous visitor sees exactly what anonymous
 * callers may pull, and a repository the visitor may not pull answers like one that does not exist.
 *
 *   GET  /                         repositories (search ?q=, pages ?after= / ?cursor=)
 *   GET  /r/<name>                 its tags (pages of 100: ?after=, ?n=, prefix filter ?q=)
 *   GET  /r/<name>:<tag>           a manifest or index by tag; /r/<name>@<digest> by digest
 *   GET  /r/<ref>/delete           confirmation step; POST the same path deletes (CSRF-checked)
 *   GET  /getting-started          docker login, CI tokens
 *   GET  /sign-in, POST /sign-in   session cookie from a password or a CI token; POST /sign-out
 *   GET  /static/<asset>           stylesheet and copy-button script
 *
 * UI rows declare the action "none": the router then reads no Authorization header, and the page
 * identifies its visitor from the session cookie (session.ts) with the same Caller the API uses.
 */
import { readAuthSettings } from "../auth/settings";
import { RegistryError } from "../errors";
import type { Handler, RequestContext } from "../http/context";
import { ASSETS } from "./assets";
import type { UiContext } from "./context";
import { uiErrorResponse } from "./errors";
import { confirmDeletePage, deleteSubmit } from "./pages/delete";
import { gettingStartedPage } from "./pages/getting-started";
import { manifestPage } from "./pages/manifest";
import { repositoriesPage } from "./pages/repositories";
import { signInPage, signInSubmit, signOut } from "./pages/sign-in";
import { tagsPage } from "./pages/tags";
import { parseUiRef } from "./reference";
import { csrfToken, viewer } from "./session";

type Page = (c: UiContext) => Promise<Response>;

/** A page as a route handler: its visitor from the cookie, its errors as HTML with the visitor's header, HEAD without a body. */
function page(fn: Page): Handler {
  return async (rc: RequestContext) => {
    let c: UiContext | null = null;
    let res: Response;
    try {
      c = await uiContext(rc);
      res = await fn(c);
    } catch (err) {
      if (!(err instanceof RegistryError) && !c) throw err; // the router's group renders it
      res = uiErrorResponse(err, c);
    }
    return rc.request.method === "HEAD" ? new Response(null, { status: res.status, headers: res.headers }) : res;
  };
}

async function uiContext(rc: RequestContext): Promise<UiContext> {
  const auth = readAuthSettings(rc.env);
  const v = await viewer(rc.request, auth);
  const fallbackKey = rc.settings.BLOB_URL_SECRET;
  return {
    request: rc.request,
    url: rc.url,
    settings: rc.settings,
    auth,
    storage: rc.storage,
    events: rc.events,
    repositories: rc.repositories,
    viewer: v,
    csrf: await csrfToken(auth, v, fallbackKey),
    csrfFallbackKey: fallbackKey,
    waitUntil: (p) => rc.waitUntil(p),
    rest: rc.params.ref ?? "",
  };
}

async function referencePage(c: UiContext): Promise<Response> {
  const ref = parseUiRef(c.rest);
  if (ref.delete) return confirmDeletePage(c, ref);
  if (ref.tag === undefined && ref.digest === undefined) return tagsPage(c, ref.name);
  return manifestPage(c, ref);
}

async function referenceSubmit(c: UiContext): Promise<Response> {
  const ref = parseUiRef(c.rest);
  if (!ref.delete) throw new RegistryError("UNSUPPORTED", "nothing to submit here", undefined, { Allow: "GET, HEAD" });
  return deleteSubmit(c, ref);
}

const asset: Handler = async (rc) => {
  const a = ASSETS[rc.params.file ?? ""];
  if (!a) return uiErrorResponse(new RegistryError("NOT_FOUND", "no such file"), null);
  return new Response(rc.request.method === "HEAD" ? null : a.body, {
    headers: { "Content-Type": a.type, "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff" },
  });
};

/** The handlers of the UI's rows in src/worker/router.ts. */
export const ui = {
  repositories: page(repositoriesPage),
  reference: page(referencePage),
  referenceSubmit: page(referenceSubmit),
  gettingStarted: page(gettingStartedPage),
  signIn: page(signInPage),
  signInSubmit: page(signInSubmit),
  signOut: page(signOut),
  asset,
} satisfies Record<string, Handler>;

/** Errors of UI paths raised outside a page (no route, a broken setting): an HTML page without a visitor. */
export function renderUiError(err: unknown): Response {
  return uiErrorResponse(err, null);
}
