/**
 * Talking to an upstream registry, with Wharf's own client (src/client runs in Workers): Docker's token
 * flow (anonymous, or with the upstream's credentials) and Basic auth come from its Transport, and tokens
 * are cached per scope until shortly before they expire, in one client per upstream per isolate.
 *
 * Every failure becomes an `UpstreamError` (status, Retry-After, the upstream's message, or "unreachable"),
 * which errors.ts maps to the OCI error the client gets. Requests are not retried here: a second attempt
 * would count against the upstream's rate limits, and a cached copy (stale) is the better fallback.
 */
import { readBodyLimited } from "../http/body";
import { MANIFEST_ACCEPT, pullScope, RegistryClient } from "../../client/registry";
import { RegistryClientError } from "../../client/errors";
import { MAX_MANIFEST_BYTES } from "../config";
import type { Upstream } from "./upstreams";

export class UpstreamError extends Error {
  constructor(
    readonly upstream: Upstream,
    /** HTTP status the upstream answered with; null when it could not be reached. */
    readonly status: number | null,
    message: string,
    readonly retryAfter: string | null = null,
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}

export interface UpstreamManifest {
  bytes: Uint8Array;
  mediaType: string;
  /** Docker-Content-Digest as the upstream sent it (may be absent). */
  claimedDigest: string | null;
}

export interface UpstreamBlob {
  body: ReadableStream<Uint8Array>;
  /** Content-Length, when the upstream sent one. */
  size: number | null;
}

const MAX_REDIRECTS = 5;
const clients = new Map<string, RegistryClient>();

/** One client per upstream (same settings → same client, so its token cache is shared within the isolate). */
export function upstreamClient(u: Upstream): RegistryClient {
  const key = JSON.stringify([u.url, u.username, u.password]);
  let c = clients.get(key);
  if (!c) {
    if (clients.size > 64) clients.clear();
    const credentials = u.username !== undefined ? { username: u.username, password: u.password ?? "" } : undefined;
    c = new RegistryClient(new URL(u.url).host, {
      baseUrl: u.url,
      credentials: () => credentials,
      retry: { retries: 0 },
      userAgent: "wharf-proxy/0.1",
    });
    clients.set(key, c);
  }
  return c;
}

export class UpstreamRegistry {
  private readonly client: RegistryClient;

  constructor(readonly upstream: Upstream) {
    this.client = upstreamClient(upstream);
  }

  /** HEAD a manifest: its digest (when the upstream says), or null when it does not exist. */
  async headManifest(repo: string, reference: string): Promise<{ digest: string | null; mediaType: string; size: number } | null> {
    const res = await this.send("HEAD", `/v2/${repo}/manifests/${reference}`, repo, { Accept: MANIFEST_ACCEPT });
    if (res.status === 404) return null;
    await this.expectOk(res, `manifest ${repo}:${reference}`);
    return {
      digest: res.headers.get("Docker-Content-Digest"),
      mediaType: baseType(res.headers.get("Content-Type")),
      size: Number(res.headers.get("Content-Length") ?? 0),
    };
  }

  /** GET a manifest (at most MAX_MANIFEST_BYTES); null when it does not exist. The caller checks its digest. */
  async getManifest(repo: string, reference: string): Promise<UpstreamManifest | null> {
    const res = await this.send("GET", `/v2/${repo}/manifests/${reference}`, repo, { Accept: MANIFEST_ACCEPT });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    await this.expectOk(res, `manifest ${repo}:${reference}`);
    const bytes = await readBodyLimited(res, MAX_MANIFEST_BYTES, () => new UpstreamError(this.upstream, 502, `manifest ${repo}:${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`));
    return { bytes, mediaType: baseType(res.headers.get("Content-Type")), claimedDigest: res.headers.get("Docker-Content-Digest") };
  }

  /** Size of a blob upstream, or null when it does not exist. */
  async headBlob(repo: string, digest: string): Promise<number | null> {
    const res = await this.send("HEAD", `/v2/${repo}/blobs/${digest}`, repo);
    if (res.status === 404) return null;
    await this.expectOk(res, `blob ${repo}@${digest}`);
    return Number(res.headers.get("Content-Length") ?? 0);
  }

  /**
   * GET a blob's bytes, following redirects by hand: the upstream's credentials go only to the upstream,
   * never to the storage it redirects to (a presigned S3/R2 URL refuses a request that carries both).
   * null when the blob does not exist.
   */
  async getBlob(repo: string, digest: string): Promise<UpstreamBlob | null> {
    let res = await this.send("GET", `/v2/${repo}/blobs/${digest}`, repo, {}, "manual");
    for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.get("Location"); hops++) {
      if (hops >= MAX_REDIRECTS) throw new UpstreamError(this.upstream, 502, `blob ${digest}: more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(res.headers.get("Location")!, res.url || this.upstream.url).toString();
      await res.body?.cancel();
      try {
        res = await fetch(next, { redirect: "manual", headers: { "User-Agent": "wharf-proxy/0.1" } });
      } catch (e) {
        throw new UpstreamError(this.upstream, null, `blob ${digest}: redirect target unreachable: ${(e as Error).message}`);
      }
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    await this.expectOk(res, `blob ${repo}@${digest}`);
    if (!res.body) return { body: new Blob([]).stream(), size: 0 };
    const len = res.headers.get("Content-Length");
    return { body: res.body, size: len !== null && /^\d+$/.test(len) ? Number(len) : null };
  }

  /** Every tag of an upstream repository (following Link pages), up to `max`; null when the repository is unknown. */
  async tags(repo: string, max: number): Promise<string[] | null> {
    const out: string[] = [];
    try {
      for await (const t of this.client.tags(repo)) {
        out.push(t);
        if (out.length >= max) break;
      }
    } catch (e) {
      if (e instanceof RegistryClientError && e.status === 404) return null;
      throw this.wrap(e, `tags of ${repo}`);
    }
    return out;
  }

  private async send(method: string, url: string, repo: string, headers: Record<string, string> = {}, redirect: "follow" | "manual" = "follow"): Promise<Response> {
    try {
      return await this.client.transport.send({ method, url, headers, scopes: pullScope(repo), idempotent: true, redirect });
    } catch (e) {
      throw this.wrap(e, `${method} ${url}`);
    }
  }

  private async expectOk(res: Response, what: string): Promise<void> {
    if (res.status === 200) return;
    let message = `HTTP ${res.status}`;
    try {
      const body = (await res.text()).slice(0, 4096);
      const first = (JSON.parse(body) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
      if (first) message = `${first.code ?? ""}: ${first.message ?? ""}`.trim();
    } catch {
      // not an OCI error body
    }
    throw new UpstreamError(this.upstream, res.status, `${what}: ${message}`, res.headers.get("Retry-After"));
  }

  private wrap(e: unknown, what: string): UpstreamError {
    if (e instanceof UpstreamError) return e;
    if (e instanceof RegistryClientError) return new UpstreamError(this.upstream, e.status, `${what}: ${e.message}`);
    // NetworkError from the transport, or a fetch that failed inside the token flow.
    return new UpstreamError(this.upstream, null, `${what}: ${(e as Error)?.message ?? e}`);
  }
}

function baseType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0].trim();
}
