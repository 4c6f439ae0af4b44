/**
 * GET /sign-in: a form for a user name and password, or a CI token. POST /sign-in checks them like the
 * token endpoint and sets the session cookie (session.ts); POST /sign-out clears it.
 */
import { RegistryError } from "../../errors";
import type { UiContext, UiHandler } from "../context";
import { html } from "../html";
import { page } from "../layout";
import { checkCsrf, cookie, CSRF_COOKIE, SESSION_COOKIE, signIn } from "../session";
import { readForm } from "../form";

export const signInPage: UiHandler = async (c) => form(c, 200);

function form(c: UiContext, status: number, error?: string, user = ""): Response {
  const next = safeNext(c.url.searchParams.get("next"));
  const configured = c.auth.signingSecret !== undefined;
  const body = html`<h1>Sign in</h1>
${error ? html`<p class="notice error" role="alert">${error}</p>` : ""}
${
  configured
    ? html`<form class="signin" method="post" action="/sign-in${next ? `?next=${encodeURIComponent(next)}` : ""}">
<input type="hidden" name="csrf" value="${c.csrf}">
<fieldset>
<legend>User</legend>
<label>User name <input type="text" name="username" value="${user}" autocomplete="username" autocapitalize="off" spellcheck="false"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
</fieldset>
<fieldset>
<legend>or a CI token</legend>
<label>Token <input type="password" name="token" autocomplete="off" spellcheck="false"></label>
</fieldset>
<div><button class="primary" type="submit">Sign in</button></div>
<p class="muted">Signing in sets a cookie for this site only, valid for ${minutes(c.settings.UI_SESSION_TTL_SECONDS)}.</p>
</form>`
    : html`<p class="notice">This registry has no authentication configured (AUTH_SIGNING_SECRET is not set): everyone sees the same pages.</p>`
}`;
  return page(c, { title: "Sign in", body, status, crumbs: [["Repositories", "/"], ["Sign in"]] });
}

export const signInSubmit: UiHandler = async (c) => {
  const f = await readForm(c.request);
  await checkCsrf(c.request, f, c.auth, c.viewer, c.csrfFallbackKey);
  const token = (f.get("token") ?? "").trim();
  const user = (f.get("username") ?? "").trim();
  const password = token || (f.get("password") ?? "");
  if (!password) return form(c, 400, "Enter a user name and password, or a CI token.", user);
  let signed;
  try {
    signed = await signIn(c.auth, token ? "ci" : user, password, c.settings.UI_SESSION_TTL_SECONDS);
  } catch (e) {
    if (e instanceof RegistryError && e.code === "UNAUTHORIZED") return form(c, 401, "Wrong user name, password or token.", user);
    throw e;
  }
  const headers = new Headers({ Location: safeNext(c.url.searchParams.get("next")) ?? "/", "Cache-Control": "no-store" });
  headers.append("Set-Cookie", cookie(c.url, SESSION_COOKIE, signed.token, signed.session.expiresAt - Math.floor(Date.now() / 1000)));
  headers.append("Set-Cookie", cookie(c.url, CSRF_COOKIE, "", 0));
  return new Response(null, { status: 303, headers });
};

export const signOut: UiHandler = async (c) => {
  const f = await readForm(c.request);
  await checkCsrf(c.request, f, c.auth, c.viewer, c.csrfFallbackKey);
  const headers = new Headers({ Location: "/", "Cache-Control": "no-store" });
  headers.append("Set-Cookie", cookie(c.url, SESSION_COOKIE, "", 0));
  return new Response(null, { status: 303, headers });
};

/** Only our own paths: "/x", never "//host" or "/\\host" (open redirects). */
export function safeNext(next: string | null): string | undefined {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.includes("\\") || /[\r\n]/.test(next)) return undefined;
  return next.slice(0, 2000);
}

function minutes(s: number): string {
  return s % 3600 === 0 ? `${s / 3600} hour${s === 3600 ? "" : "s"}` : `${Math.max(1, Math.round(s / 60))} minutes`;
}
