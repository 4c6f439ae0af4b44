/**
 * Repository: the Durable Object, one per repository name, through which every tag and manifest
 * mutation of that repository passes (protocol: mutations.ts), and the only writer of its summary. It
 * keeps no state of its own; R2 holds everything. RPC methods return plain results so DomainErrors reach the Worker with their kinds.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../config";
import { ManifestStore, type TagOptions } from "../storage/manifests";
import { type RepositorySummary, SummaryStore } from "../storage/summaries";
import { type MutationResult, RepositoryMutations, toResult } from "./mutations";

export class Repository extends DurableObject<Env> {
  private readonly mutations: RepositoryMutations;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.mutations = new RepositoryMutations(new ManifestStore(env.BUCKET), new SummaryStore(env.BUCKET));
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
