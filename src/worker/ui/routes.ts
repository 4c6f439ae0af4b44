/**
 * The web UI (src/worker/ui/): server-rendered pages at `/` and below, for paths the OCI API does not
 * use, from the same storage and with the same access rules as the API.
 *
 * This folder owns: the UI's routes (UI_ROUTES below), pages (pages/), HTML templating with escaping
 * by default (html.ts), the page shell and its Content-Security-Policy (layout.ts), the two static
 * assets (assets.ts), sessions, CSRF and cookies (session.ts), and the read model over storage
 * (data.ts). It reads and deletes only through src/worker/storage, and decides what a visitor sees
 * with the API's Caller (src/worker/auth): an anonymous visitor sees exactly what anonymous callers
 * may pull, and a repository the visitor may not pull answers like one that does not exist.
 *
 *   GET  /                         repositories (search ?q=, pages ?after= / ?cursor=)
 *   GET  /r/<name>                 its tags (pages of 100: ?after=, ?n=, prefix filter ?q=)
 *   GET  /r/<name>:<tag>           a manifest or index by tag; /r/<name>@<digest> by digest
 *   GET  /r/<ref>/delete           confirmation step; POST the same path deletes (CSRF-checked)
 *   GET  /getting-started          docker login, CI tokens
 *   GET  /sign-in, POST /sign-in   session cookie from a password or a CI token; POST /sign-out
 *   GET  /static/<asset>           stylesheet and copy-button script
 */
import { readAuthSettings } from "../auth/settings";
import { type Env, readConfig } from "../config";
import { RegistryError } from "../errors";
import { openStorage } from "../storage/registry";
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

type UiRoute = (c: UiContext) => Promise<Response>;

/** Method, path (a trailing "*" matches any rest, given to the page as `rest`), page. */
export const UI_ROUTES: [("GET" | "POST")[], string, UiRoute][] = [
  [["GET"], "/", repositoriesPage],
  [["GET"], "/getting-started", gettingStartedPage],
  [["GET"], "/sign-in", signInPage],
  [["POST"], "/sign-in", signInSubmit],
  [["POST"], "/sign-out", signOut],
  [["GET"], "/r/*", referencePage],
  [["POST"], "/r/*", referenceSubmit],
];

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

/** Is this path the UI's (everything but the API and internal routes)? */
export function isUiPath(path: string): boolean {
  return !(path === "/v2" || path.startsWith("/v2/") || path.startsWith("/_wharf/"));
}

function match(method: string, path: string): { route: UiRoute; rest: string } | "method" | null {
  const m = method === "HEAD" ? "GET" : method;
  let pathMatched = false;
  for (const [methods, pattern, route] of UI_ROUTES) {
    const rest = pattern.endsWith("*") ? (path.startsWith(pattern.slice(0, -1)) ? path.slice(pattern.length - 1) : null) : path === pattern ? "" : null;
    if (rest === null) continue;
    pathMatched = true;
    if ((methods as string[]).includes(m)) return { route, rest };
  }
  return pathMatched ? "method" : null;
}

export async function handleUi(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    path = url.pathname;
  }
  if (path.startsWith("/static/") && (request.method === "GET" || request.method === "HEAD")) return asset(path.slice(8), request.method);
  let c: UiContext | null = null;
  try {
    const auth = readAuthSettings(env);
    const v = await viewer(request, auth);
    c = {
      request,
      url,
      env,
      config: readConfig(env),
      auth,
      storage: openStorage(env.BUCKET),
      viewer: v,
      csrf: await csrfToken(auth, v, env.BLOB_URL_SECRET),
      rest: "",
    };
    const found = match(request.method, path);
    if (found === "method") throw new RegistryError("UNSUPPORTED", `${request.method} is not supported here`, undefined, { Allow: "GET, HEAD" });
    if (!found) throw new RegistryError("NOT_FOUND", `no page at ${path}`);
    c.rest = found.rest;
    const res = await found.route(c);
    return request.method === "HEAD" ? new Response(null, { status: res.status, headers: res.headers }) : res;
  } catch (err) {
    const res = uiErrorResponse(err, c);
    return request.method === "HEAD" ? new Response(null, { status: res.status, headers: res.headers }) : res;
  }
}

function asset(name: string, method: string): Response {
  const a = ASSETS[name];
  if (!a) return uiErrorResponse(new RegistryError("NOT_FOUND", "no such file"), null);
  return new Response(method === "HEAD" ? null : a.body, {
    headers: { "Content-Type": a.type, "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff" },
  });
}
