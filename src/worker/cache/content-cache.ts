/**
 * The read cache of content addressed by digest: manifest revisions (GET/HEAD by digest) and blob
 * metadata (HEAD, and the lookup before a GET's redirect), per repository.
 *
 * What it may cache: only what a digest names inside one repository. The bytes under a digest never
 * change, so the only thing that can make an entry wrong is a delete (of the manifest, of the blob's
 * repository link, or later garbage collection). Tags move: what a tag points at is never cached
 * (see "Tags" below), and neither is "not found" (a miss always reads R2, so a push is visible at once).
 *
 * Two levels:
 *   1. this isolate: a bounded LRU map (at most MAX_ENTRIES entries and MAX_BYTES of manifest bytes;
 *      manifests over MAX_ENTRY_BYTES are not kept), each entry valid for `ttlSeconds`;
 *   2. the Workers Cache API (`caches.default`, one per data centre), so other isolates in the same
 *      location share what one of them read; entries carry `Cache-Control: max-age=<ttlSeconds>`.
 *   A lookup tries 1, then 2, then R2 (and fills both).
 *
 * Deletes (the protocol):
 *   - the isolate that serves a DELETE forgets the entry in both levels BEFORE answering (so a GET after
 *     DELETE through the same isolate, as the conformance tests do, reads R2 and gets 404);
 *   - any other isolate, in this or another data centre, may answer from its own entry for at most
 *     `ttlSeconds` after the delete (CONTENT_CACHE_SECONDS, default 5 s; 0 turns both levels off).
 *     `cache.delete` purges only the local data centre's Cache API, so the TTL bounds the rest.
 *   - code that deletes content without a request (garbage collection) calls `forget*` too, and is
 *     otherwise bounded by the same TTL.
 * Tags (GET by tag): the tag itself is read from R2 on every request, since tags move. What a tag
 * pointed at last in this isolate is kept as a hint (`tags`); when the manifest under that digest is
 * still in this isolate's level, the request reads only the tag's metadata (an R2 head, not its copy of
 * the bytes) and answers with the cached bytes of the digest the tag points at now. Otherwise, or when
 * the tag has moved to a digest not in memory, it reads the tag object whole, as without the cache. The
 * answer is always the manifest the tag points at in R2 at that moment: bytes under a digest never
 * change, and a tag that is gone is 404 at once, in every isolate.
 *
 * Access rules are not cached: the router identifies and authorizes the caller before any handler
 * runs, on every request; the cache only replaces the R2 reads behind an allowed request.
 */
import type { Digest } from "../../oci/grammar";
import type { BlobInfo } from "../storage/blobs";
import type { ManifestContent } from "../storage/manifests";

/** How `manifestByTag` reads a tag from R2 (the manifest store): its digest alone (a head), or the tag object whole. */
export interface TagReads {
  resolveTag(name: string, tag: string): Promise<Digest | null>;
  getTag(name: string, tag: string): Promise<ManifestContent | null>;
}

const MAX_ENTRIES = 4096;
const MAX_BYTES = 16 * 1024 * 1024;
const MAX_ENTRY_BYTES = 1024 * 1024;
/** Synthetic origin of Cache API keys: never a URL anyone can request. */
/** How long a forget blocks refills begun before it (longer than any R2 read takes). */
const FORGET_MEMORY_MS = 60_000;
const CACHE_ORIGIN = "https://wharf-content-cache.internal";

interface Entry<T> {
  value: T;
  bytes: number;
  expires: number;
}

/** A bounded LRU map with per-entry expiry (Map iteration order is insertion order: re-insert on hit). */
export class LruTtl<T> {
  private readonly map = new Map<string, Entry<T>>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string, now = Date.now()): T | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    if (e.expires <= now) {
      this.bytes -= e.bytes;
      return undefined;
    }
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: T, bytes: number, ttlMs: number, now = Date.now()): void {
    this.delete(key);
    this.map.set(key, { value, bytes, expires: now + ttlMs });
    this.bytes += bytes;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.map.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.bytes -= e.bytes;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

const manifestKey = (name: string, d: Digest) => `m/${name}@${d.algorithm}:${d.hex}`;
const tagKey = (name: string, tag: string) => `t/${name}:${tag}`;
const blobKey = (name: string, d: Digest) => `b/${name}@${d.algorithm}:${d.hex}`;
const cacheUrl = (key: string) => `${CACHE_ORIGIN}/${encodeURI(key)}`;

function edgeCache(): Cache | null {
  return typeof caches !== "undefined" && caches.default ? caches.default : null;
}

/** One per isolate (module scope): what every request of this isolate shares. */
export class ContentCache {
  readonly local = new LruTtl<ManifestContent | BlobInfo>(MAX_ENTRIES, MAX_BYTES);
  /** Per tag, the digest it pointed at when this isolate last read it whole: a hint, checked against R2 every time. */
  readonly tags = new LruTtl<Digest>(MAX_ENTRIES, Infinity);
  /**
   * Keys forgotten lately, with the epoch of their last forget: a load that began before a forget (its
   * R2 read may predate the delete) must not refill the entry when it completes after it.
   */
  private readonly forgotten = new LruTtl<number>(MAX_ENTRIES, Infinity);
  private epoch = 0;

  /** A manifest revision by digest, from the cache or `load` (R2); null when it does not exist. */
  async manifest(
    ttlSeconds: number,
    name: string,
    digest: Digest,
    load: () => Promise<ManifestContent | null>,
    waitUntil: (p: Promise<unknown>) => void,
  ): Promise<ManifestContent | null> {
    if (ttlSeconds <= 0) return load();
    const key = manifestKey(name, digest);
    const hit = this.local.get(key) as ManifestContent | undefined;
    if (hit) return hit;
    const edge = edgeCache();
    const cached = edge ? await edge.match(cacheUrl(key)).catch(() => undefined) : undefined;
    if (cached) {
      const m: ManifestContent = {
        digest,
        mediaType: cached.headers.get("Content-Type") ?? "application/octet-stream",
        size: Number(cached.headers.get("Content-Length")),
        bytes: await cached.arrayBuffer(),
      };
      if (m.bytes.byteLength === m.size) {
        this.keepManifest(key, m, ttlSeconds);
        return m;
      }
    }
    const began = this.epoch;
    const m = await load();
    if (!m) return null;
    if (this.forgottenSince(key, began)) return m;
    this.keepManifest(key, m, ttlSeconds);
    if (edge && m.size <= MAX_ENTRY_BYTES) {
      const res = new Response(m.bytes.slice(0), {
        headers: { "Content-Type": m.mediaType, "Content-Length": String(m.size), "Cache-Control": `max-age=${ttlSeconds}` },
      });
      waitUntil(edge.put(cacheUrl(key), res).catch(() => undefined));
    }
    return m;
  }

  /**
   * The manifest `tag` points at now (null: no such tag). The tag is read from R2 every time: by a head
   * when this isolate holds the bytes of the digest it pointed at last, else whole (`getTag`).
   */
  async manifestByTag(ttlSeconds: number, name: string, tag: string, reads: TagReads): Promise<ManifestContent | null> {
    if (ttlSeconds <= 0) return reads.getTag(name, tag);
    const tkey = tagKey(name, tag);
    const hint = this.tags.get(tkey);
    const held = hint && (this.local.get(manifestKey(name, hint)) as ManifestContent | undefined);
    if (held) {
      const now = await reads.resolveTag(name, tag);
      if (!now) {
        this.tags.delete(tkey);
        return null;
      }
      // Mostly the tag has not moved: the bytes looked up above. Else those of its new digest, if held.
      const hit = now.toString() === held.digest.toString() ? held : (this.local.get(manifestKey(name, now)) as ManifestContent | undefined);
      if (hit) return hit;
    }
    const began = this.epoch;
    const m = await reads.getTag(name, tag);
    if (!m) {
      this.tags.delete(tkey);
      return null;
    }
    const key = manifestKey(name, m.digest);
    if (this.forgottenSince(key, began)) return m;
    this.keepManifest(key, m, ttlSeconds);
    this.tags.set(tkey, m.digest, 0, ttlSeconds * 1000);
    return m;
  }

  /** Blob metadata as `repo` may serve it (link and content index), from the cache or `load`. */
  async blob(
    ttlSeconds: number,
    name: string,
    digest: Digest,
    load: () => Promise<BlobInfo | null>,
    waitUntil: (p: Promise<unknown>) => void,
  ): Promise<BlobInfo | null> {
    if (ttlSeconds <= 0) return load();
    const key = blobKey(name, digest);
    const hit = this.local.get(key) as BlobInfo | undefined;
    if (hit) return hit;
    const edge = edgeCache();
    const cached = edge ? await edge.match(cacheUrl(key)).catch(() => undefined) : undefined;
    if (cached) {
      const { size, dataKey } = (await cached.json()) as { size: number; dataKey: string };
      const info: BlobInfo = { digest, size, dataKey };
      this.local.set(key, info, 0, ttlSeconds * 1000);
      return info;
    }
    const began = this.epoch;
    const info = await load();
    if (!info) return null;
    if (this.forgottenSince(key, began)) return info;
    this.local.set(key, info, 0, ttlSeconds * 1000);
    if (edge) {
      const res = new Response(JSON.stringify({ size: info.size, dataKey: info.dataKey }), {
        headers: { "Content-Type": "application/json", "Cache-Control": `max-age=${ttlSeconds}` },
      });
      waitUntil(edge.put(cacheUrl(key), res).catch(() => undefined));
    }
    return info;
  }

  /** Forget a manifest revision in this isolate and this data centre (call before answering a delete). */
  async forgetManifest(name: string, digest: Digest): Promise<void> {
    await this.forget(manifestKey(name, digest));
  }

  /** Forget a blob's metadata in a repository (link removed, or the blob itself deleted). */
  async forgetBlob(name: string, digest: Digest): Promise<void> {
    await this.forget(blobKey(name, digest));
  }

  private async forget(key: string): Promise<void> {
    this.local.delete(key);
    this.forgotten.set(key, ++this.epoch, 0, FORGET_MEMORY_MS);
    await edgeCache()?.delete(cacheUrl(key)).catch(() => false);
  }

  private forgottenSince(key: string, epoch: number): boolean {
    return (this.forgotten.get(key) ?? -1) > epoch;
  }

  private keepManifest(key: string, m: ManifestContent, ttlSeconds: number): void {
    if (m.size <= MAX_ENTRY_BYTES) this.local.set(key, m, m.size, ttlSeconds * 1000);
  }
}

export const contentCache = new ContentCache();
