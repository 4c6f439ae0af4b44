/**
 * Conditional GET and HEAD (RFC 9110 13.1.2): when `If-None-Match` names the representation's entity tag
 * (or is `*`), answer 304 with the validator and caching headers and no body. Wharf's entity tags are the
 * content digest in quotes, so a match by weak comparison means the client already holds the bytes.
 * Evaluated before Range and before any redirect, as the RFC orders preconditions.
 */

/** Whether the If-None-Match header value matches the (strong) entity tag `etag`. */
export function noneMatchHits(header: string | null, etag: string): boolean {
  if (header === null) return false;
  const value = header.trim();
  if (value === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return value.split(",").some((t) => t.trim().replace(/^W\//, "") === opaque);
}

/** Headers a 304 carries: those of the 200 it stands for, less the ones that describe a body. */
const KEPT = ["etag", "cache-control", "docker-content-digest", "vary", "expires", "content-location"];

/** A 304 when the request's If-None-Match matches `headers`' ETag, else null. */
export function notModified(request: Request, headers: Headers): Response | null {
  const etag = headers.get("ETag");
  if (!etag || !noneMatchHits(request.headers.get("If-None-Match"), etag)) return null;
  const out = new Headers();
  for (const k of KEPT) {
    const v = headers.get(k);
    if (v !== null) out.set(k, v);
  }
  return new Response(null, { status: 304, headers: out });
}
