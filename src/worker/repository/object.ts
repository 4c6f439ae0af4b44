/**
 * Repository: the Durable Object, one per repository name, through which every tag and manifest
 * mutation of that repository passes (protocol: mutations.ts), and the only writer of its summary. R2
 * holds everything that is true; the object's own SQLite storage keeps the repository's tag index
 * (tag-index.ts), derived from R2 and answering the tags list. RPC methods return plain results so
 * DomainErrors reach the Worker with their kinds.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../config";
import { ManifestStore, type TagDetailPage, type TagOptions } from "../storage/manifests";
import { TagIndex, type TagNamesPage } from "./tag-index";
import { type RepositorySummary, SummaryStore } from "../storage/summaries";
import { type MutationResult, RepositoryMutations, toResult } from "./mutations";

export class Repository extends DurableObject<Env> {
  private readonly mutations: RepositoryMutations;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.mutations = new RepositoryMutations(new ManifestStore(env.BUCKET), new SummaryStore(env.BUCKET), new TagIndex(ctx.storage));
  }

  /** Null: the index is not built yet (a rebuild step ran): list R2. */
  listTags(name: string, n: number, last?: string): Promise<TagNamesPage | null> {
    return this.mutations.listTags(name, n, last);
  }

  listTagDetails(name: string, n: number, last: string | undefined, prefix: string): Promise<TagDetailPage | null> {
    return this.mutations.listTagDetails(name, n, last, prefix);
  }

  rebuildTagIndex(name: string): Promise<boolean> {
    return this.mutations.rebuildIndex(name);
  }

  putManifest(name: string, digest: string, bytes: Uint8Array, contentType: string, tag?: string, opts: TagOptions = {}): Promise<MutationResult<null>> {
    return toResult(this.mutations.putManifest(name, digest, bytes, contentType, tag, opts).then(() => null));
  }

  deleteTag(name: string, tag: string): Promise<MutationResult<string>> {
    return toResult(this.mutations.deleteTag(name, tag).then((d) => d.toString()));
  }

  deleteManifest(name: string, digest: string): Promise<MutationResult<null>> {
    return toResult(this.mutations.deleteManifest(name, digest).then(() => null));
  }

  summary(name: string): Promise<RepositorySummary> {
    return this.mutations.summary(name);
  }

  recount(name: string, olderThanMs?: number): Promise<RepositorySummary> {
    return this.mutations.recount(name, olderThanMs);
  }
}
