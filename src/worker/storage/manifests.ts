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
import { listKeys, listNames, type Page } from "./listing";
import { paths } from "./paths";
import { ReferrerStore } from "./referrers";
import { CatalogStore } from "./catalog";

export interface ManifestInfo {
  digest: Digest;
  mediaType: string;
  size: number;
}

export interface ManifestContent extends ManifestInfo {
  bytes: ArrayBuffer;
}

export class ManifestStore {
  private readonly referrers: ReferrerStore;
  private readonly catalog: CatalogStore;

  constructor(private readonly bucket: R2Bucket) {
    this.referrers = new ReferrerStore(bucket);
    this.catalog = new CatalogStore(bucket);
  }

  async put(name: string, digest: Digest, bytes: Uint8Array, facts: ManifestFacts, tag?: string): Promise<void> {
    await this.storeRevision(name, digest, bytes, facts);
    if (facts.subject) {
      await this.referrers.add(name, facts.subject, {
        mediaType: facts.mediaType,
        digest: digest.toString(),
        size: bytes.byteLength,
        artifactType: facts.artifactType,
        annotations: facts.annotations,
      });
    }
    if (tag !== undefined) await this.moveTag(name, tag, digest, bytes, facts.mediaType);
    await this.catalog.add(name);
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

  /** Remove a tag; returns the digest it pointed at. */
  async deleteTag(name: string, tag: string): Promise<Digest> {
    const digest = await this.resolveTag(name, tag);
    if (!digest) throw new DomainError("MANIFEST_UNKNOWN", `tag ${tag} not found in ${name}`);
    await this.bucket.delete([paths.tag(name, tag), paths.tagged(name, digest, tag)]);
    return digest;
  }

  /** Delete a revision, every tag that points at it, and its referrer entry. */
  async deleteManifest(name: string, digest: Digest): Promise<void> {
    const obj = await this.bucket.head(paths.manifest(name, digest));
    if (!obj) throw new DomainError("MANIFEST_UNKNOWN", `manifest ${digest} not found in ${name}`);
    for await (const keys of listKeys(this.bucket, paths.taggedPrefix(name, digest))) {
      for (const key of keys) {
        const tag = key.slice(paths.taggedPrefix(name, digest).length);
        const current = await this.resolveTag(name, tag);
        if (current?.toString() === digest.toString()) await this.bucket.delete(paths.tag(name, tag));
      }
      await this.bucket.delete(keys);
    }
    const subject = obj.customMetadata?.subject;
    if (subject) await this.referrers.remove(name, parseDigest(subject), digest);
    await this.bucket.delete(paths.manifest(name, digest));
  }

  private async storeRevision(name: string, digest: Digest, bytes: Uint8Array, facts: ManifestFacts): Promise<void> {
    const customMetadata: Record<string, string> = {};
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
   */
  async moveTag(name: string, tag: string, digest: Digest, bytes: Uint8Array, mediaType: string): Promise<void> {
    const previous = await this.resolveTag(name, tag);
    await this.bucket.put(paths.tagged(name, digest, tag), "");
    await this.bucket.put(paths.tag(name, tag), bytes, {
      httpMetadata: { contentType: mediaType },
      customMetadata: { digest: digest.toString(), inline: "1" },
    });
    if (previous && previous.toString() !== digest.toString()) {
      await this.bucket.delete(paths.tagged(name, previous, tag));
    }
  }
}

function infoOf(digest: Digest, obj: R2Object): ManifestInfo {
  return { digest, mediaType: obj.httpMetadata?.contentType ?? "application/octet-stream", size: obj.size };
}
