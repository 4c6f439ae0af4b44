/**
 * The page shell: header with navigation and the sign-in state, and the response headers every page
 * carries: a strict Content-Security-Policy (only our own stylesheet and script, no inline code, forms
 * only to ourselves, never framed), no caching (pages depend on who is looking), and no sniffing.
 */
import type { UiContext } from "./context";
import { type Html, html, href, type Renderable } from "./html";

export const CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "script-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export function pageHeaders(extra: Record<string, string> = {}): Headers {
  const h = new Headers({
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    Vary: "Cookie",
    ...extra,
  });
  return h;
}

export interface PageOptions {
  title: string;
  body: Renderable;
  status?: number;
  /** Links above the title: [label, href]; the last one is the current page (no link). */
  crumbs?: [string, string?][];
  headers?: Record<string, string>;
}

export function page(c: UiContext, o: PageOptions): Response {
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Wharf</title>
<link rel="stylesheet" href="/static/wharf.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<script src="/static/copy.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">⚓ Wharf</a>
<nav aria-label="Main">
<a href="/">Repositories</a>
<a href="/getting-started">Getting started</a>
${account(c)}
</nav>
</header>
<main id="main">
${o.crumbs ? crumbs(o.crumbs) : ""}
${o.body}
</main>
</body>
</html>
`;
  const headers = pageHeaders(o.headers);
  if (c.viewer.setCookie) headers.append("Set-Cookie", c.viewer.setCookie);
  return new Response(doc.text, { status: o.status ?? 200, headers });
}

function account(c: UiContext): Html {
  const s = c.viewer.session;
  if (!s) return html`<a href="${href(["/sign-in"], { next: nextOf(c) })}">Sign in</a>`;
  return html`<span class="muted">Signed in as <strong>${s.label}</strong></span>
<form method="post" action="/sign-out"><input type="hidden" name="csrf" value="${c.csrf}"><button type="submit">Sign out</button></form>`;
}

/** Where sign-in should come back to: this page, unless it is a sign-in page or a form target. */
function nextOf(c: UiContext): string | undefined {
  const p = c.url.pathname;
  if (p === "/" || p.startsWith("/sign-") || c.request.method !== "GET") return undefined;
  return p + c.url.search;
}

function crumbs(items: [string, string?][]): Html {
  return html`<nav class="crumbs" aria-label="Breadcrumb">${items.map(([label, link], i) => [
    i ? " / " : "",
    link ? html`<a href="${link}">${label}</a>` : html`<span aria-current="page">${label}</span>`,
  ])}</nav>`;
}
