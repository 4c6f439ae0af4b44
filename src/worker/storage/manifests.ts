/**
 * Manifest storage: revisions (bytes exactly as pushed, with their media type), tags, and the reverse
 * index of tags per revision that lets a delete by digest remove every tag pointing at it.
 *
 * Put, in named steps: store the revision → record the referrer (if it has a subject) → move the tag
 * → mark the repository in the catalog. A reader that sees a tag always finds its revision.
 *
 * The mutations (`put`, `moveTag`, `deleteTag`, `deleteManifest`) read, then write, then clean up the
 * reverse index: they are correct only when no other mutation of the same repository runs meanwhile.
 * Only the repository's Durable Object (src/worker/repository/, protocol in its header) calls them, one at
 * a time; everything else mutates manifests and tags through `Repositories`. Reads need no guard.
 */
import { DomainError } from "../domain-errors";
import { type Digest, parseDigest } from "../../oci/grammar";
import type { ManifestFacts } from "../../oci/manifest";
import { listKeys, listNames, listObjects, type Page } from "./listing";
import { encodeRefs } from "./manifest-refs";
import { paths } from "./paths";
import { ReferrerStore } from "./referrers";
import { CatalogStore } from "./catalog";
import { sizeOf, type TagPushed } from "./summaries";

export interface ManifestInfo {
  digest: Digest;
  mediaType: string;
  size: number;
  /** Bytes of config and layers (an index: of its children), when recorded at push. */
  contentSize?: number;
}

export interface ManifestContent extends ManifestInfo {
  bytes: ArrayBuffer;
}

/** A tag as a listing shows it: what it points at, when it was last pushed, and what is known of its content. */
export interface TagDetail {
  tag: string;
  digest: string;
  mediaType: string;
  pushedAt: Date;
  /** Bytes of config and layers (for an index: of all its children); unknown for tags pushed before it was recorded. */
  contentSize?: number;
  /** An index's platforms ("os/arch[/variant]"). */
  platforms?: string[];
  artifactType?: string;
}

/** What a put did: to the tag, for the repository's summary (`pushed`), and the tag object it wrote (for the tag index). */
export interface PutOutcome {
  pushed: TagPushed | null;
  /** Null when no tag object was written (no tag, or an immutable tag pushed again with its manifest). */
  written: TagDetail | null;
}

export interface TagDetailPage {
  tags: TagDetail[];
  more: boolean;
}

/** How a put treats the tag it moves. */
export interface TagOptions {
  /**
   * The tag is immutable (IMMUTABLE_TAGS): it may be created, or "moved" to the digest it already points
   * at, never moved elsewhere. Its first write is create-only (a conditional put, `etagDoesNotMatch: "*"`),
   * so of two first pushes that both found it absent exactly one creates it; the other gets TAG_IMMUTABLE.
   */
  immutable?: boolean;
}

/** R2 custom metadata is limited to 2 KiB per object: keep the platform list well inside it. */
const MAX_PLATFORMS_CHARS = 1000;

export class ManifestStore {
  private readonly referrers: ReferrerStore;
  private readonly catalog: CatalogStore;

  constructor(private readonly bucket: R2Bucket) {
    this.referrers = new ReferrerStore(bucket);
    this.catalog = new CatalogStore(bucket);
  }

  /** Store a revision (and point `tag` at it); says what happened to the tag, for the repository's summary and tag index. */
  async put(name: string, digest: Digest, bytes: Uint8Array, facts: ManifestFacts, tag?: string, opts: TagOptions = {}): Promise<PutOutcome> {
    // An immutable tag that points elsewhere refuses the push before anything is stored.
    if (tag !== undefined && opts.immutable) await this.checkImmutableTarget(name, tag, digest);
    const summary = await this.summarize(name, facts);
    await this.storeRevision(name, digest, bytes, facts, summary);
    if (facts.subject) {
      await this.referrers.add(name, facts.subject, {
        mediaType: facts.mediaType,
        digest: digest.toString(),
        size: bytes.byteLength,
        artifactType: facts.artifactType,
        annotations: facts.annotations,
      });
    }
    let pushed: TagPushed | null = null;
    let written: TagDetail | null = null;
    if (tag !== undefined) {
      const moved = await this.moveTag(name, tag, digest, bytes, facts.mediaType, summary, opts);
      pushed = { tag, digest: digest.toString(), pushedAt: moved.uploaded.getTime(), contentSize: sizeOf(summary.contentSize), added: moved.previous === null };
      if (moved.written) written = detailOf(tag, digest.toString(), facts.mediaType, moved.uploaded, summary);
    }
    await this.catalog.add(name);
    return { pushed, written };
  }

  /** TAG_IMMUTABLE unless the immutable `tag` is absent or already points at `digest`. */
  private async checkImmutableTarget(name: string, tag: string, digest: Digest): Promise<void> {
    const current = await this.resolveTag(name, tag);
    if (current && current.toString() !== digest.toString()) throw immutableTagTaken(name, tag, current);
  }

  async stat(name: string, digest: Digest): Promise<ManifestInfo | null> {
    const obj = await this.bucket.head(paths.manifest(name, digest));
    return obj ? infoOf(digest, obj) : null;
  }

  async get(name: string, digest: Digest): Promise<ManifestContent | null> {
    const obj = await this.bucket.get(paths.manifest(name, digest));
    return obj ? { ...infoOf(digest, obj), bytes: await obj.arrayBuffer() } : null;
  }

  /** The manifest a tag points at, answered from the tag object alone (it carries a copy of the bytes). */
  async statTag(name: string, tag: string): Promise<ManifestInfo | null> {
    const obj = await this.bucket.head(paths.tag(name, tag));
    if (!obj?.customMetadata?.digest) return null;
    const digest = parseDigest(obj.customMetadata.digest);
    return obj.customMetadata.inline ? infoOf(digest, obj) : this.stat(name, digest);
  }

  async getTag(name: string, tag: string): Promise<ManifestContent | null> {
    const obj = await this.bucket.get(paths.tag(name, tag));
    if (!obj?.customMetadata?.digest) return null;
    const digest = parseDigest(obj.customMetadata.digest);
    if (!obj.customMetadata.inline) return this.get(name, digest); // a tag written before tags carried their manifest
    return { ...infoOf(digest, obj), bytes: await obj.arrayBuffer() };
  }

  async resolveTag(name: string, tag: string): Promise<Digest | null> {
    const obj = await this.bucket.head(paths.tag(name, tag));
    const d = obj?.customMetadata?.digest;
    return d ? parseDigest(d) : null;
  }

  async listTags(name: string, n: number, last?: string): Promise<Page> {
    return listNames(this.bucket, paths.tagsPrefix(name), n, last);
  }

  /** The tags that point at a revision (from the reverse index). */
  async tagsOf(name: string, digest: Digest): Promise<string[]> {
    const prefix = paths.taggedPrefix(name, digest);
    const tags: string[] = [];
    for await (const keys of listKeys(this.bucket, prefix)) for (const key of keys) tags.push(key.slice(prefix.length));
    return tags;
  }

  /**
   * Up to `n` tags after `last` with their details, from one list call per 1,000 tags (the details are
   * the tag objects' metadata and upload time; no tag is read). `prefix` narrows to tags starting with it.
   */
  async listTagDetails(name: string, n: number, last?: string, prefix = ""): Promise<TagDetailPage> {
    const base = paths.tagsPrefix(name);
    const page = await listObjects(this.bucket, base + prefix, n, last !== undefined && last.startsWith(prefix) ? last.slice(prefix.length) : undefined);
    const tags: TagDetail[] = [];
    for (const o of page.objects) {
      const m = o.customMetadata;
      if (!m.digest) continue;
      tags.push(detailOf(prefix + o.name, m.digest, o.contentType ?? "application/octet-stream", o.uploaded, m));
    }
    return { tags, more: page.more };
  }

  /** Remove a tag; returns the digest it pointed at. */
  async deleteTag(name: string, tag: string): Promise<Digest> {
    const digest = await this.resolveTag(name, tag);
    if (!digest) throw new DomainError("MANIFEST_UNKNOWN", `tag ${tag} not found in ${name}`);
    await this.bucket.delete([paths.tag(name, tag), paths.tagged(name, digest, tag)]);
    return digest;
  }

  /** Delete a revision, every tag that points at it, and its referrer entry; returns the tags deleted. */
  async deleteManifest(name: string, digest: Digest): Promise<string[]> {
    const obj = await this.bucket.head(paths.manifest(name, digest));
    if (!obj) throw new DomainError("MANIFEST_UNKNOWN", `manifest ${digest} not found in ${name}`);
    const removed: string[] = [];
    for await (const keys of listKeys(this.bucket, paths.taggedPrefix(name, digest))) {
      for (const key of keys) {
        const tag = key.slice(paths.taggedPrefix(name, digest).length);
        const current = await this.resolveTag(name, tag);
        if (current?.toString() === digest.toString()) {
          await this.bucket.delete(paths.tag(name, tag));
          removed.push(tag);
        }
      }
      await this.bucket.delete(keys);
    }
    const subject = obj.customMetadata?.subject;
    if (subject) await this.referrers.remove(name, parseDigest(subject), digest);
    await this.bucket.delete(paths.manifest(name, digest));
    return removed;
  }

  /**
   * What listings show of a manifest without reading it: the bytes it pulls (an index sums its children's,
   * read from their revisions' metadata: one HEAD per child, only when an index is pushed), its platforms
   * and artifact type. Recorded on the revision and on tags pointing at it.
   */
  private async summarize(name: string, facts: ManifestFacts): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    let size = facts.contentSize;
    if (facts.manifests.length) {
      const children = await Promise.all(facts.manifests.map((d) => this.bucket.head(paths.manifest(name, d))));
      const sizes = children.map((c) => c?.customMetadata?.contentSize);
      if (sizes.every((s) => s !== undefined)) size = sizes.reduce((a, s) => a + Number(s), 0);
    }
    if (size !== undefined) out.contentSize = String(size);
    if (facts.platforms?.length) {
      let list = "";
      for (const p of facts.platforms) {
        if (list.length + p.length + 1 > MAX_PLATFORMS_CHARS) break;
        if (!/^[A-Za-z0-9._/-]+$/.test(p)) continue;
        list += (list ? "," : "") + p;
      }
      if (list) out.platforms = list;
    }
    if (facts.artifactType && facts.artifactType.length <= 255) out.artifactType = facts.artifactType;
    return out;
  }

  private async storeRevision(
    name: string,
    digest: Digest,
    bytes: Uint8Array,
    facts: ManifestFacts,
    summary: Record<string, string>,
  ): Promise<void> {
    const customMetadata: Record<string, string> = { ...summary, ...encodeRefs(facts) }; // refs: for garbage collection's mark
    if (facts.subject) customMetadata.subject = facts.subject.toString();
    await this.bucket.put(paths.manifest(name, digest), bytes, {
      httpMetadata: { contentType: facts.mediaType },
      customMetadata,
    });
  }

  /**
   * Point a tag at a revision. The tag object holds a copy of the manifest bytes and media type, so a pull
   * by tag (the commonest request a registry serves) is one R2 read instead of two. Both copies are
   * immutable bytes under one digest; a delete by digest removes the tags with the revision.
   * Order: the new reverse-index entry is written before the tag, so at every step each tag's entry exists
   * (a stale entry of the previous digest, left by a crash, is harmless: deleteManifest checks the tag).
   * An immutable tag (`opts.immutable`) is only ever created, never overwritten: the put is conditional on
   * the key being absent; should it exist, it must already point at `digest` (a re-push, nothing to do),
   * else TAG_IMMUTABLE and the entry just written for it goes again.
   */
  async moveTag(
    name: string,
    tag: string,
    digest: Digest,
    bytes: Uint8Array,
    mediaType: string,
    summary: Record<string, string> = {},
    opts: TagOptions = {},
  ): Promise<{ previous: Digest | null; uploaded: Date; written: boolean }> {
    const previous = await this.resolveTag(name, tag);
    if (opts.immutable && previous) {
      if (previous.toString() !== digest.toString()) throw immutableTagTaken(name, tag, previous);
      return { previous, uploaded: new Date(), written: false }; // pushed again with the same manifest: the tag already says so
    }
    await this.bucket.put(paths.tagged(name, digest, tag), "");
    const written = await this.bucket.put(paths.tag(name, tag), bytes, {
      httpMetadata: { contentType: mediaType },
      customMetadata: { ...summary, digest: digest.toString(), inline: "1" },
      onlyIf: opts.immutable ? { etagDoesNotMatch: "*" } : undefined,
    });
    if (!written) {
      // Create-only and someone created it first (it was absent a moment ago).
      const winner = await this.resolveTag(name, tag);
      if (winner?.toString() === digest.toString()) return { previous: winner, uploaded: new Date(), written: false };
      await this.bucket.delete(paths.tagged(name, digest, tag));
      throw immutableTagTaken(name, tag, winner);
    }
    if (previous && previous.toString() !== digest.toString()) {
      await this.bucket.delete(paths.tagged(name, previous, tag));
    }
    return { previous, uploaded: written.uploaded, written: true };
  }
}

/** A tag as listings show it, from what its object records (its metadata, or the summary written into it). */
function detailOf(tag: string, digest: string, mediaType: string, uploaded: Date, m: Record<string, string>): TagDetail {
  const t: TagDetail = { tag, digest, mediaType, pushedAt: uploaded };
  if (m.contentSize !== undefined) t.contentSize = Number(m.contentSize);
  if (m.platforms) t.platforms = m.platforms.split(",");
  if (m.artifactType) t.artifactType = m.artifactType;
  return t;
}

/** An immutable tag that already points at another manifest (or was just created by another push). */
export function immutableTagTaken(name: string, tag: string, current: Digest | null): DomainError {
  return new DomainError("TAG_IMMUTABLE", `tag ${tag} of ${name} is immutable (IMMUTABLE_TAGS): it already points at ${current ?? "another manifest"} and cannot be moved`, {
    detail: { repository: name, tag, ...(current ? { digest: current.toString() } : {}) },
  });
}

function infoOf(digest: Digest, obj: R2Object): ManifestInfo {
  const info: ManifestInfo = { digest, mediaType: obj.httpMetadata?.contentType ?? "application/octet-stream", size: obj.size };
  const content = obj.customMetadata?.contentSize;
  if (content !== undefined) info.contentSize = Number(content);
  return info;
}
