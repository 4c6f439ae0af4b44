/**
 * The Worker's side of the per-repository Durable Object (protocol: mutations.ts): the only way Worker
 * code moves or deletes a tag, stores a manifest, or deletes one, and how a reader gets a missing or old
 * repository summary counted. Reads go to storage directly.
 */
import type { Env } from "../config";
import { type Digest, parseDigest } from "../../oci/grammar";
import type { TagOptions } from "../storage/manifests";
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

  /** The repository's summary (storage/summaries.ts), counted by the object when there is none. */
  async summary(name: string): Promise<RepositorySummary> {
    return this.stub(name).summary(name);
  }

  /** Have the object count the tags afresh, unless it did less than `olderThanMs` ago. */
  async recount(name: string, olderThanMs = 0): Promise<RepositorySummary> {
    return this.stub(name).recount(name, olderThanMs);
  }
}
