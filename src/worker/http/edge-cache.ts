/**
 * The Workers Cache API (`caches.default`, per data centre; workerd simulates it locally) in front of
 * content addressed by digest: blob bytes through the signed blob route, and manifests by digest of
 * pull-through cache repositories. A repeated pull in the same location then reads neither R2 nor the
 * upstream. Never used for tags (they move) nor for manifests of local repositories (a delete by digest
 * must take effect everywhere, and `cache.delete` only purges one data centre). Objects above the plan's
 * cacheable size (512 MB on Free, Pro and Business) are not put there. Range requests bypass it.
 *
 * Keys are URLs under the Worker's own origin (`/_wharf/edge/...`), never the request's URL: a signed
 * URL's query changes every window, and the signature is checked before the cache is consulted.
 */
export const EDGE_CACHE_MAX_BYTES = 512 * 1000 * 1000;
export const EDGE_HEADER = "Wharf-Edge-Cache";

function cache(): Cache | null {
  return typeof caches !== "undefined" ? (caches as unknown as { default: Cache }).default : null;
}

export function edgeCacheKey(url: URL, suffix: string): string {
  return `${url.origin}/_wharf/edge/${suffix}`;
}

/** The cached response, or null. */
export async function fromEdgeCache(key: string): Promise<Response | null> {
  const c = cache();
  if (!c) return null;
  try {
    const hit = await c.match(key);
    if (!hit) return null;
    const headers = new Headers(hit.headers);
    headers.set(EDGE_HEADER, "hit");
    return new Response(hit.body, { status: hit.status, headers });
  } catch (e) {
    console.error("edge cache match failed", e);
    return null;
  }
}

/** Keys being put by this isolate: concurrent misses of one blob put it once, not once each. */
const putting = new Set<string>();

/** Whether a put of `key` is worth starting (none in flight here); the caller then calls toEdgeCache. */
export function edgeCacheWanted(key: string): boolean {
  return !putting.has(key);
}

/** Put an immutable response (status 200, known size ≤ EDGE_CACHE_MAX_BYTES); failures are only logged. */
export async function toEdgeCache(key: string, res: Response): Promise<void> {
  const c = cache();
  const size = Number(res.headers.get("Content-Length"));
  if (!c || res.status !== 200 || !Number.isFinite(size) || size > EDGE_CACHE_MAX_BYTES || putting.has(key)) {
    await res.body?.cancel();
    return;
  }
  putting.add(key);
  const headers = new Headers(res.headers);
  headers.set("Cache-Control", "public, max-age=31536000, immutable");
  headers.delete(EDGE_HEADER);
  try {
    await c.put(key, new Response(res.body, { status: 200, headers }));
  } catch (e) {
    console.error("edge cache put failed", e);
  } finally {
    putting.delete(key);
  }
}
