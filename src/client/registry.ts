/**
 * RegistryClient: every OCI Distribution operation against one registry host, on fetch only (runs in
 * Node 20+ and in Workers). Blob pushes (monolithic, chunked, resumable) live in upload.ts.
 */
import { CATALOG_SCOPE, repositoryScope } from "./auth";
import { errorFromResponse, RegistryClientError } from "./errors";
import { digestStreamHash, type HashFactory, sha256Of } from "./hash";
import type { Descriptor } from "../oci/descriptor";
import { baseMediaType, MANIFEST_ACCEPT_TYPES } from "../oci/media-types";
import { registryBaseUrl } from "./reference";
import { Transport, type TransportOptions } from "./transport";

export type { Descriptor, Platform } from "../oci/descriptor";

export const MANIFEST_ACCEPT = MANIFEST_ACCEPT_TYPES.join(", ");

export interface ClientOptions extends TransportOptions {
  /** Plain HTTP for a non-loopback host. */
  insecure?: boolean;
  /** Full base URL, overriding the scheme choice ("http://127.0.0.1:8787"). */
  baseUrl?: string;
  /** Incremental SHA-256 (defaults to Workers' DigestStream; the Node entry point passes node:crypto's). */
  createHash?: HashFactory;
}

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

export const pullScope = (repo: string) => [repositoryScope(repo, ["pull"])];
export const pushScope = (repo: string) => [repositoryScope(repo, ["pull", "push"])];
export const deleteScope = (repo: string) => [repositoryScope(repo, ["delete"])];

const enc = encodeURIComponent;

export class RegistryClient {
  readonly host: string;
  readonly transport: Transport;
  readonly createHash: HashFactory;

  constructor(host: string, opts: ClientOptions = {}) {
    this.host = host;
    this.transport = new Transport(opts.baseUrl ?? registryBaseUrl(host, opts.insecure), host, opts);
    const hash = opts.createHash ?? digestStreamHash();
    this.createHash = hash ?? (() => {
      throw new Error("no incremental SHA-256 in this runtime: pass createHash (see src/node/client.ts)");
    });
  }

  /** GET /v2/: true when the registry answers (after authenticating if it asks). */
  async ping(): Promise<void> {
    await this.transport.expect({ method: "GET", url: "/v2/", scopes: [], idempotent: true }, [200], `ping ${this.host}`);
  }

  // ---- manifests --------------------------------------------------------------------------------

  /** HEAD a manifest: its digest, media type and size, or null when it does not exist. */
  async headManifest(repo: string, reference: string): Promise<Descriptor | null> {
    const res = await this.transport.request({
      method: "HEAD", url: `/v2/${repo}/manifests/${enc(reference)}`, headers: { Accept: MANIFEST_ACCEPT },
      scopes: pullScope(repo), idempotent: true,
    });
    if (res.status === 404) return null;
    if (res.status !== 200) throw await errorFromResponse(res, `manifest ${repo}:${reference}`);
    return {
      mediaType: baseMediaType(res.headers.get("Content-Type")),
      digest: res.headers.get("Docker-Content-Digest") ?? "",
      size: Number(res.headers.get("Content-Length") ?? 0),
    };
  }

  /** GET a manifest by tag or digest; the digest is checked when asked for by digest. */
  async getManifest(repo: string, reference: string, accept = MANIFEST_ACCEPT): Promise<FetchedManifest> {
    const res = await this.transport.expect({
      method: "GET", url: `/v2/${repo}/manifests/${enc(reference)}`, headers: { Accept: accept },
      scopes: pullScope(repo), idempotent: true,
    }, [200], `manifest ${repo}:${reference}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = await sha256Of(bytes);
    if (reference.startsWith("sha256:") && digest !== reference) {
      throw new Error(`manifest ${repo}@${reference}: content has digest ${digest}`);
    }
    return { bytes, digest, mediaType: baseMediaType(res.headers.get("Content-Type")) || mediaTypeOf(bytes) };
  }

  /** PUT a manifest under a tag or its digest; returns the digest the registry computed. */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const res = await this.transport.expect({
      method: "PUT", url: `/v2/${repo}/manifests/${enc(reference)}`, headers: { "Content-Type": mediaType },
      body: bytes, scopes: pushScope(repo), idempotent: true,
    }, [200, 201], `push manifest ${repo}:${reference}`);
    await res.body?.cancel();
    return res.headers.get("Docker-Content-Digest") ?? (await sha256Of(bytes));
  }

  async deleteManifest(repo: string, reference: string): Promise<void> {
    const res = await this.transport.expect({
      method: "DELETE", url: `/v2/${repo}/manifests/${enc(reference)}`, scopes: deleteScope(repo), idempotent: true,
    }, [200, 202, 204], `delete ${repo}:${reference}`);
    await res.body?.cancel();
  }

  // ---- blobs --------------------------------------------------------------------------------------

  /** Size of a blob in the repository, or null when it is not there. */
  async headBlob(repo: string, digest: string): Promise<number | null> {
    const res = await this.transport.request({
      method: "HEAD", url: `/v2/${repo}/blobs/${digest}`, scopes: pullScope(repo), idempotent: true,
    });
    if (res.status === 404) return null;
    if (res.status !== 200) throw await errorFromResponse(res, `blob ${repo}@${digest}`);
    return Number(res.headers.get("Content-Length") ?? 0);
  }

  /**
   * GET a blob (following the redirect to its signed URL). With `range` ({start, end?}, inclusive)
   * the registry answers 206 with that slice. The caller reads and verifies the stream.
   */
  async getBlob(repo: string, digest: string, range?: { start: number; end?: number }): Promise<Response> {
    const headers: Record<string, string> = {};
    if (range) headers.Range = `bytes=${range.start}-${range.end ?? ""}`;
    return this.transport.expect({
      method: "GET", url: `/v2/${repo}/blobs/${digest}`, headers, scopes: pullScope(repo), idempotent: true,
    }, range ? [200, 206] : [200], `blob ${repo}@${digest}`);
  }

  async getBlobBytes(repo: string, digest: string, limit = 16 * 1024 * 1024): Promise<Uint8Array> {
    const res = await this.getBlob(repo, digest);
    const declared = Number(res.headers.get("Content-Length") ?? 0);
    if (declared > limit) {
      await res.body?.cancel();
      throw new Error(`blob ${digest} is ${declared} bytes, more than ${limit} expected for a config`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const actual = await sha256Of(bytes);
    if (digest.startsWith("sha256:") && actual !== digest) throw new Error(`blob ${digest}: content has digest ${actual}`);
    return bytes;
  }

  async deleteBlob(repo: string, digest: string): Promise<void> {
    const res = await this.transport.expect({
      method: "DELETE", url: `/v2/${repo}/blobs/${digest}`, scopes: deleteScope(repo), idempotent: true,
    }, [200, 202, 204], `delete blob ${repo}@${digest}`);
    await res.body?.cancel();
  }

  /**
   * Cross-repository mount. True when the registry linked the blob; false when it opened an upload
   * session instead (which is cancelled here).
   */
  async mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    const res = await this.transport.request({
      method: "POST", url: `/v2/${repo}/blobs/uploads/?mount=${enc(digest)}&from=${enc(from)}`,
      headers: { "Content-Length": "0" },
      scopes: [...pushScope(repo), ...pullScope(from)], idempotent: true,
    });
    await res.body?.cancel();
    if (res.status === 201) return true;
    if (res.status === 202) {
      const loc = res.headers.get("Location");
      if (loc) await this.transport.request({ method: "DELETE", url: loc, scopes: pushScope(repo), idempotent: false }).then((r) => r.body?.cancel()).catch(() => {});
      return false;
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) return false;
    throw new RegistryClientError(res.status, [], `mount ${digest} into ${repo}`);
  }

  // ---- lists --------------------------------------------------------------------------------------

  /** Every tag of a repository, page by page following `Link`. */
  async *tags(repo: string, pageSize = 1000): AsyncGenerator<string> {
    for await (const page of this.pages<{ tags?: string[] | null }>(`/v2/${repo}/tags/list?n=${pageSize}`, pullScope(repo), `tags of ${repo}`)) {
      yield* page.tags ?? [];
    }
  }

  /** Every repository, page by page following `Link`. */
  async *catalog(pageSize = 1000): AsyncGenerator<string> {
    for await (const page of this.pages<{ repositories?: string[] }>(`/v2/_catalog?n=${pageSize}`, [CATALOG_SCOPE], "catalog")) {
      yield* page.repositories ?? [];
    }
  }

  /** Every referrer of a manifest, optionally filtered by artifact type. */
  async *referrers(repo: string, digest: string, artifactType?: string): AsyncGenerator<Descriptor> {
    const q = artifactType ? `?artifactType=${enc(artifactType)}` : "";
    for await (const page of this.pages<{ manifests?: Descriptor[] }>(`/v2/${repo}/referrers/${digest}${q}`, pullScope(repo), `referrers of ${digest}`)) {
      yield* page.manifests ?? [];
    }
  }

  private async *pages<T>(first: string, scopes: string[], context: string): AsyncGenerator<T> {
    let url: string | null = first;
    const seen = new Set<string>();
    while (url && !seen.has(url)) {
      seen.add(url);
      const res = await this.transport.expect({ method: "GET", url, scopes, idempotent: true, headers: { Accept: "application/json" } }, [200], context);
      const next = nextLink(res.headers.get("Link"));
      yield (await res.json()) as T;
      url = next ? this.transport.resolve(next) : null;
    }
  }
}

/** The `rel="next"` target of a Link header. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(",")) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (m && /rel="?next"?/.test(m[2])) return m[1];
  }
  return null;
}

function mediaTypeOf(bytes: Uint8Array): string {
  try {
    return (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: string }).mediaType ?? "";
  } catch {
    return "";
  }
}
