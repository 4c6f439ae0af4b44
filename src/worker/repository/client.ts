/**
 * The Worker's side of the per-repository Durable Object (protocol: mutations.ts): the only way Worker
 * code moves or deletes a tag, stores a manifest, or deletes one, and how a reader gets a missing or old
 * repository summary counted, and where the tags list reads (the object's tag index). Other reads go to
 * storage directly.
 */
import type { Env } from "../config";
import { type Digest, parseDigest } from "../../oci/grammar";
import type { TagDetailPage, TagOptions } from "../storage/manifests";
import type { TagNamesPage } from "./tag-index";
import type { RepositorySummary } from "../storage/summaries";
import { unwrap } from "./mutations";

export class Repositories {
  constructor(private readonly ns: Env["REPOSITORIES"]) {}

  private stub(name: string) {
    return this.ns.get(this.ns.idFromName(name));
  }

  /** Store a manifest whose references were checked, and move `tag` (if any) to it. */
  async putManifest(name: string, digest: Digest, bytes: Uint8Array, contentType: string, tag?: string, opts: TagOptions = {}): Promise<void> {
    unwrap(await this.stub(name).putManifest(name, digest.toString(), bytes, contentType, tag, opts));
  }

  /** Remove a tag; returns the digest it pointed at. */
  async deleteTag(name: string, tag: string): Promise<Digest> {
    return parseDigest(unwrap(await this.stub(name).deleteTag(name, tag)));
  }

  async deleteManifest(name: string, digest: Digest): Promise<void> {
    unwrap(await this.stub(name).deleteManifest(name, digest.toString()));
  }

  /**
   * Up to `n` tags after `last` from the object's tag index; null while it is being built, or when the
   * object cannot be reached (logged): the caller lists R2, which is slower but as true.
   */
  async listTags(name: string, n: number, last?: string): Promise<TagNamesPage | null> {
    return this.stub(name).listTags(name, n, last).catch((e) => unreachable(name, e));
  }

  /** Like listTags with each tag's details, narrowed to tags starting with `prefix`. */
  async listTagDetails(name: string, n: number, last: string | undefined, prefix = ""): Promise<TagDetailPage | null> {
    return this.stub(name).listTagDetails(name, n, last, prefix).catch((e) => unreachable(name, e));
  }

  /** Rebuild the tag index from R2 (after tag objects were written around the object); true when done. */
  async rebuildTagIndex(name: string): Promise<boolean> {
    return this.stub(name).rebuildTagIndex(name);
  }

  /** The repository's summary (storage/summaries.ts), counted by the object when there is none. */
  async summary(name: string): Promise<RepositorySummary> {
    return this.stub(name).summary(name);
  }

  /** Have the object count the tags afresh, unless it did less than `olderThanMs` ago. */
  async recount(name: string, olderThanMs = 0): Promise<RepositorySummary> {
    return this.stub(name).recount(name, olderThanMs);
  }
}

function unreachable(name: string, e: unknown): null {
  console.error(JSON.stringify({ msg: "repository: tag index unreachable, listing R2", repository: name, reason: String((e as Error)?.message ?? e) }));
  return null;
}
