/**
 * HTML with escaping by default. `html` is a tagged template: every interpolated value is escaped
 * unless it is itself `Html` (from `html` or `raw`); arrays are joined; null, undefined and false
 * render as nothing. Attribute values must be written in double quotes (`href="${url}"`), where the
 * escaping of `"` keeps them closed. URLs are built by `href`, which percent-encodes each part and
 * can only produce same-origin paths.
 */

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Renderable = Html | string | number | boolean | null | undefined | Renderable[];

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function render(v: Renderable): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join("");
  return escape(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Trusted markup, written by us (never pass anything that came from a request or from storage). */
export function raw(text: string): Html {
  return new Html(text);
}

/**
 * A same-origin path from parts: strings are percent-encoded except "/" inside a repository name
 * (pass names with `{ name }`), and query parameters with undefined values are left out.
 */
export function href(parts: (string | { name: string })[], query: Record<string, string | number | undefined> = {}): string {
  let path = "";
  for (const p of parts) path += typeof p === "string" ? encodeURIComponent(p).replace(/%2F/g, "/").replace(/%3A/g, ":").replace(/%40/g, "@") : p.name.split("/").map(encodeURIComponent).join("/");
  if (!path.startsWith("/") || path.startsWith("//")) throw new Error(`not a same-origin path: ${path}`);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, String(v));
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}
