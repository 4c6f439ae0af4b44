/** HTML error pages: the UI's rendering of RegistryError (the API's is errors.ts's JSON envelope). */
import { RegistryError } from "../errors";
import type { UiContext } from "./context";
import { html, href } from "./html";
import { page, pageHeaders } from "./layout";

const TITLES: Record<number, string> = { 400: "Bad request", 401: "Sign in required", 403: "Not allowed", 404: "Not found", 405: "Not supported", 413: "Too large" };

export function uiErrorResponse(err: unknown, c: UiContext | null): Response {
  const e = err instanceof RegistryError ? err : null;
  if (!e) console.error("unhandled error in the UI", err);
  const status = e ? e.status : 500;
  const title = TITLES[status] ?? (status >= 500 ? "Something went wrong" : "Error");
  const message = e ? e.message : "internal error: the registry's log has the details";
  const signIn = c && !c.viewer.session && (status === 404 || status === 403 || status === 401);
  const body = html`<h1>${title}</h1>
<p class="notice error">${message}</p>
${signIn ? html`<p>Some repositories are visible only after you <a href="${href(["/sign-in"], { next: c.request.method === "GET" ? c.url.pathname + c.url.search : undefined })}">sign in</a>.</p>` : ""}
<p><a href="/">All repositories</a></p>`;
  const headers: Record<string, string> = {};
  if (e?.headers.Allow) headers.Allow = e.headers.Allow;
  if (c) return page(c, { title, body, status, headers });
  const doc = html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · Wharf</title><link rel="stylesheet" href="/static/wharf.css"></head><body><main>${body}</main></body></html>`;
  return new Response(doc.text, { status, headers: pageHeaders(headers) });
}
