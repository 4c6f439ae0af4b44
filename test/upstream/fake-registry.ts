/**
 * Upstream registries for the Worker tests, run in Node as the test Worker's outbound service
 * (vitest.config.ts `outboundService`): every fetch the Worker or its Durable Objects make to the
 * internet arrives here. Each host (`up.test`, `auth.test`, ...) is its own small OCI registry with its
 * own content, options and request log. Tests drive it over HTTP from inside workerd, through the same
 * outbound path: `/_control/...` puts content, sets options and reads the log (control requests are not
 * logged). It serves the Distribution API's pull side: manifests (GET/HEAD by tag or digest), blobs
 * (GET/HEAD, optionally through a redirect to `/_data/...` that must arrive without credentials, or with
 * chunked encoding), tag lists with Link pages, and Docker's token flow or Basic auth.
 */
import { createHash } from "node:crypto";

interface Options {
  /** "none", "token" (Bearer from /token with Basic credentials), or "basic". */
  auth: "none" | "token" | "basic";
  user: string;
  password: string;
  /** Answer every content request (not /v2/ or /token) with this status. */
  fail: number | null;
  retryAfter: string | null;
  /** Throw instead of answering: the Worker's fetch fails as for an unreachable host. */
  down: boolean;
  /** Blob GETs redirect (307) to /_data/<digest>, which refuses requests that carry Authorization. */
  redirectBlobs: boolean;
  /** Blob bodies without Content-Length (chunked encoding). */
  chunked: boolean;
  /** Serve these bytes instead of the real ones for every blob (a lying upstream). */
  lie: boolean;
  /** Milliseconds to wait before answering a blob GET (so concurrent requests overlap). */
  blobDelayMs: number;
  tagPageSize: number;
}

interface State {
  options: Options;
  blobs: Map<string, Uint8Array>; // "<repo>@<digest>"
  manifests: Map<string, { bytes: Uint8Array; type: string }>; // "<repo>@<digest>"
  tags: Map<string, string>; // "<repo>:<tag>" → digest
  log: { method: string; path: string; authorization: string | null }[];
  tokens: Set<string>;
}

const defaults = (): Options => ({
  auth: "none", user: "u", password: "p", fail: null, retryAfter: null, down: false, redirectBlobs: false, chunked: false, lie: false,
  blobDelayMs: 0, tagPageSize: 1000,
});

const hosts = new Map<string, State>();

function state(host: string): State {
  let s = hosts.get(host);
  if (!s) {
    s = { options: defaults(), blobs: new Map(), manifests: new Map(), tags: new Map(), log: [], tokens: new Set() };
    hosts.set(host, s);
  }
  return s;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const ociError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json(status, { errors: [{ code, message }] }, headers);

export async function fakeRegistry(request: Request): Promise<Response> {
  const url = new URL(request.url);
  // Only the fake upstreams' hosts (*.test) are served here; anything else the Worker fetches (the
  // loopback webhook receiver of the events tests) goes out as it would without this outbound service.
  if (!url.hostname.endsWith(".test")) {
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    const headers = new Headers(request.headers);
    for (const h of ["host", "content-length", "connection", "transfer-encoding"]) headers.delete(h);
    return fetch(url, { method: request.method, headers, body, redirect: "manual" });
  }
  const s = state(url.host);
  const path = decodeURIComponent(url.pathname);
  if (path.startsWith("/_control/")) return control(s, request, path.slice("/_control/".length), url);
  s.log.push({ method: request.method, path: url.pathname + url.search, authorization: request.headers.get("Authorization") });
  const o = s.options;
  if (o.down) throw new Error(`fake upstream ${url.host} is down`);
  if (path === "/token") return token(s, request, url);
  if (path.startsWith("/_data/")) {
    if (request.headers.get("Authorization")) return new Response("credentials sent to the storage redirect", { status: 400 });
    return blobBody(s, `${url.searchParams.get("repo")}@${path.slice("/_data/".length)}`, request.method === "HEAD");
  }
  if (!path.startsWith("/v2/")) return new Response("not found", { status: 404 });
  const denied = authorize(s, request, url);
  if (denied) return denied;
  if (path === "/v2/") return json(200, {});
  if (o.fail) return ociError(o.fail, o.fail === 429 ? "TOOMANYREQUESTS" : "UNKNOWN", `failing with ${o.fail}`, o.retryAfter ? { "Retry-After": o.retryAfter } : {});
  const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.+)$/.exec(path);
  if (!m) return ociError(404, "NOT_FOUND", "no route");
  const [, repo, kind, ref] = m;
  const head = request.method === "HEAD";
  if (kind === "manifests") {
    const digest = ref.includes(":") ? ref : s.tags.get(`${repo}:${ref}`);
    const man = digest ? s.manifests.get(`${repo}@${digest}`) : undefined;
    if (!man || !digest) return ociError(404, "MANIFEST_UNKNOWN", `manifest ${ref} unknown`);
    // A lying upstream adds a byte to the manifest it sends, under the digest of the real one.
    const bytes = o.lie ? new Uint8Array([...man.bytes, 0x20]) : man.bytes;
    const headers = { "Content-Type": man.type, "Docker-Content-Digest": digest, "Content-Length": String(bytes.length) };
    return new Response(head ? null : (bytes as Uint8Array<ArrayBuffer>), { headers });
  }
  if (kind === "blobs") {
    const key = `${repo}@${ref}`;
    if (!s.blobs.has(key)) return ociError(404, "BLOB_UNKNOWN", `blob ${ref} unknown`);
    if (o.blobDelayMs && !head) await new Promise((r) => setTimeout(r, o.blobDelayMs));
    if (o.redirectBlobs && !head) return new Response(null, { status: 307, headers: { Location: `/_data/${ref}?repo=${encodeURIComponent(repo)}` } });
    return blobBody(s, key, head);
  }
  if (kind === "tags" && ref.startsWith("list")) {
    const all = [...s.tags.keys()].filter((k) => k.startsWith(`${repo}:`)).map((k) => k.slice(repo.length + 1)).sort();
    if (!all.length) return ociError(404, "NAME_UNKNOWN", `repository ${repo} unknown`);
    const last = url.searchParams.get("last");
    const n = Math.min(Number(url.searchParams.get("n") ?? o.tagPageSize) || o.tagPageSize, o.tagPageSize);
    const after = last ? all.filter((t) => t > last) : all;
    const page = after.slice(0, n);
    const headers: Record<string, string> = {};
    if (page.length < after.length) headers.Link = `</v2/${repo}/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"`;
    return json(200, { name: repo, tags: page }, headers);
  }
  return ociError(404, "NOT_FOUND", "no route");
}

function blobBody(s: State, key: string, head: boolean): Response {
  const bytes = s.blobs.get(key);
  if (!bytes) return ociError(404, "BLOB_UNKNOWN", "no such blob");
  const served = s.options.lie ? bytes.map((b) => b ^ 0xff) : bytes;
  const headers: Record<string, string> = { "Content-Type": "application/octet-stream", "Docker-Content-Digest": key.split("@")[1] };
  if (head) return new Response(null, { headers: { ...headers, "Content-Length": String(bytes.length) } });
  if (!s.options.chunked) return new Response(served as Uint8Array<ArrayBuffer>, { headers: { ...headers, "Content-Length": String(bytes.length) } });
  let off = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= served.length) return c.close();
      c.enqueue(served.slice(off, off + (1 << 20)));
      off += 1 << 20;
    },
  });
  return new Response(body, { headers });
}

function authorize(s: State, request: Request, url: URL): Response | null {
  const o = s.options;
  const auth = request.headers.get("Authorization") ?? "";
  if (o.auth === "basic") {
    if (auth === `Basic ${btoa(`${o.user}:${o.password}`)}`) return null;
    return ociError(401, "UNAUTHORIZED", "basic auth required", { "WWW-Authenticate": `Basic realm="${url.host}"` });
  }
  if (o.auth === "token") {
    if (auth.startsWith("Bearer ") && s.tokens.has(auth.slice(7))) return null;
    const m = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(url.pathname);
    const scope = m ? `,scope="repository:${m[1]}:pull"` : "";
    return ociError(401, "UNAUTHORIZED", "token required", { "WWW-Authenticate": `Bearer realm="http://${url.host}/token",service="${url.host}"${scope}` });
  }
  return null;
}

function token(s: State, request: Request, url: URL): Response {
  const o = s.options;
  if (request.headers.get("Authorization") !== `Basic ${btoa(`${o.user}:${o.password}`)}`) return ociError(401, "UNAUTHORIZED", "bad credentials");
  const t = `tok-${s.tokens.size}-${url.searchParams.getAll("scope").join("+")}`;
  s.tokens.add(t);
  return json(200, { token: t, expires_in: 300 });
}

async function control(s: State, request: Request, what: string, url: URL): Promise<Response> {
  if (what === "log") return json(200, s.log);
  if (what === "clear-log") {
    s.log.length = 0;
    return json(200, {});
  }
  if (what === "options") {
    Object.assign(s.options, await request.json());
    return json(200, s.options);
  }
  if (what === "reset") {
    s.options = defaults();
    s.blobs.clear();
    s.manifests.clear();
    s.tags.clear();
    s.log.length = 0;
    s.tokens.clear();
    return json(200, {});
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  const repo = url.searchParams.get("repo") ?? "";
  if (what === "blob") {
    const digest = sha256(bytes);
    s.blobs.set(`${repo}@${digest}`, bytes);
    return json(200, { digest, size: bytes.length });
  }
  if (what === "manifest") {
    const digest = sha256(bytes);
    s.manifests.set(`${repo}@${digest}`, { bytes, type: url.searchParams.get("type") ?? "application/vnd.oci.image.manifest.v1+json" });
    const tag = url.searchParams.get("tag");
    if (tag) s.tags.set(`${repo}:${tag}`, digest);
    return json(200, { digest });
  }
  if (what === "untag") {
    s.tags.delete(`${repo}:${url.searchParams.get("tag")}`);
    return json(200, {});
  }
  return json(404, { error: `no control ${what}` });
}
