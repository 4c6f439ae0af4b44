/**
 * Tag and manifest mutations of one repository, one at a time: the protocol that keeps tags, revisions and
 * the tags-per-revision reverse index consistent under concurrency. The repository's Durable Object
 * (object.ts) holds one instance of this class; Worker code reaches it through `Repositories` (client.ts).
 *
 * Protocol
 * --------
 * State in R2 (src/worker/storage/paths.ts): the revision `_manifests/revisions/<digest>`, the tag
 * `_manifests/tags/<tag>` (its target digest and a copy of the bytes), and the reverse index
 * `_manifests/tagged/<digest>/<tag>`, which lets a delete by digest find the tags pointing at it.
 * Invariant: every tag's target revision exists, and so does the reverse-index entry (digest, tag).
 * Extra entries for digests a tag no longer points at are allowed (deleteManifest checks each).
 *
 * 1. Every mutation of a repository's tags and manifests runs here, in the one Durable Object named after
 *    the repository (`idFromName(name)`): a manifest PUT (revision, referrer, tag move, catalog), a tag
 *    DELETE, and a manifest DELETE by digest. Calls queue in arrival order and each runs to its end before
 *    the next starts (`exclusive`: an await on R2 inside a Durable Object lets other calls in, so the
 *    queue is explicit, not the input gate). Reads (GET/HEAD by tag or digest, tags list) go straight to
 *    R2 and need no guard: each step below leaves the invariant true, and a tag is one object, so a reader
 *    sees the tag before or after a move, never half of one.
 * 2. Tag move (ManifestStore.moveTag): read the tag's current digest P; write the entry (new, tag); write
 *    the tag; delete the entry (P, tag). Without the queue, a mover whose read of P is stale deletes an
 *    entry another writer has just re-written for P (PUT a, PUT b and PUT a again to one tag, b's clean-up
 *    last): the tag then points at a with no entry, and DELETE of a leaves the tag serving a deleted
 *    manifest (issue 10, defect 4). Under the queue, P is the tag's value for the whole move.
 * 3. Manifest PUT: the Worker checks the references first (outside the queue, reads only), then the object
 *    stores the revision, the referrer, moves the tag and marks the catalog, all inside one queued call. A
 *    DELETE of the same digest is therefore entirely before (the PUT re-creates the revision and the tag)
 *    or entirely after (both go) — never the tag written after its revision was deleted.
 * 4. Manifest DELETE by digest (ManifestStore.deleteManifest): for each reverse-index entry (digest, tag),
 *    delete the tag if it still points at the digest; delete the entries, the referrer, then the revision.
 *    Tag DELETE: delete the tag and its entry.
 * 5. Failure: should the object or R2 fail mid-call, the Worker answers 5xx and the client retries. Each
 *    step's order keeps the invariant at every point (the entry is written before the tag; tags go before
 *    their revision), so a half-done call leaves at most extra entries, which step 4 tolerates.
 *
 * 6. The repository's summary (storage/summaries.ts: tag count and latest tag, for the web UI) is written
 *    last, inside the same queued call, from what the mutation did; a mutation that fails other than with
 *    a DomainError (those come before any write) forgets it, and the next reader has it recounted. `summary` and `recount` run
 *    in the queue too, so a recount never interleaves with a mutation's writes.
 * 7. The tag index (tag-index.ts, in the object's own SQLite storage; its header has the protocol) is
 *    marked before a mutation's R2 writes and updated after them inside the same queued call, so the tags
 *    list, which reads it without queueing, shows each mutation entirely or not at all. A rebuild of the
 *    index from R2 runs in the queue, so no mutation interleaves with one of its steps.
 *
 * Why a Durable Object rather than conditional writes on etags (measured: docs/decisions.md, "tag moves"):
 * R2 has `onlyIf` on put but not on delete, so neither the clean-up of step 2 nor the tag deletes of step 4
 * can be made conditional, and the PUT-against-DELETE race of step 3 needs a re-check and repair loop.
 * The object costs one RPC per mutation and serialises mutations per repository only.
 */
import { DomainError, type PlainDomainError } from "../domain-errors";
import { type Digest, parseDigest } from "../../oci/grammar";
import { parseManifest } from "../../oci/manifest";
import type { ManifestStore, TagDetailPage, TagOptions } from "../storage/manifests";
import type { RepositorySummary, SummaryStore } from "../storage/summaries";
import type { TagIndex, TagChange, TagNamesPage } from "./tag-index";

export type MutationResult<T> = { ok: true; value: T } | { ok: false; error: PlainDomainError };

export class RepositoryMutations {
  private queue: Promise<unknown> = Promise.resolve();

  /** `index`: the repository's tag index, kept by every mutation (none: tests of the R2 protocol alone). */
  constructor(
    private readonly store: ManifestStore,
    private readonly summaries: SummaryStore,
    private readonly index?: TagIndex,
  ) {}

  /** Store a manifest (already checked by the Worker) and move `tag` to it (create-only when immutable). */
  putManifest(name: string, digest: string, bytes: Uint8Array, contentType: string, tag?: string, opts: TagOptions = {}): Promise<void> {
    return this.mutation(name, async (change) => {
      const facts = parseManifest(bytes, contentType);
      const { pushed, written } = await this.store.put(name, parseDigest(digest), bytes, facts, tag, opts);
      change.written = written;
      if (pushed) await this.summaries.tagPushed(name, pushed);
    });
  }

  /** Remove a tag; returns the digest it pointed at. */
  deleteTag(name: string, tag: string): Promise<Digest> {
    return this.mutation(name, async (change) => {
      const digest = await this.store.deleteTag(name, tag);
      change.removed = [tag];
      await this.summaries.tagsRemoved(name, [tag]);
      return digest;
    });
  }

  /** Remove a revision and every tag still pointing at it. */
  deleteManifest(name: string, digest: string): Promise<void> {
    return this.mutation(name, async (change) => {
      const removed = await this.store.deleteManifest(name, parseDigest(digest));
      change.removed = removed;
      await this.summaries.tagsRemoved(name, removed);
    });
  }

  /**
   * Up to `n` tag names after `last` from the tag index, or null when the index cannot answer yet (the
   * caller lists R2). A trusted index answers at once, without queueing; otherwise a rebuild step runs in
   * the queue first.
   */
  async listTags(name: string, n: number, last?: string): Promise<TagNamesPage | null> {
    return (await this.indexReady(name)) ? this.index!.listNamesJson(n, last) : null;
  }

  /** Like listTags, with each tag's details, narrowed to tags starting with `prefix`. */
  async listTagDetails(name: string, n: number, last: string | undefined, prefix: string): Promise<TagDetailPage | null> {
    return (await this.indexReady(name)) ? this.index!.listDetails(n, last, prefix) : null;
  }

  /** Forget the tag index and build it again from R2 (one step; later reads continue it). */
  rebuildIndex(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.index) return false;
      this.index.invalidate();
      return this.index.rebuildStep((n, after) => this.store.listTagDetails(name, n, after));
    });
  }

  private async indexReady(name: string): Promise<boolean> {
    if (!this.index) return false;
    if (this.index.ready) return true;
    return this.exclusive(async () => {
      try {
        return await this.index!.rebuildStep((n, after) => this.store.listTagDetails(name, n, after));
      } catch (e) {
        console.error(JSON.stringify({ msg: "repository: rebuilding the tag index failed", repository: name, reason: String((e as Error)?.message ?? e) }));
        return false;
      }
    });
  }

  /** The repository's summary, counted now if there is none. */
  summary(name: string): Promise<RepositorySummary> {
    return this.exclusive(async () => (await this.summaries.get(name)) ?? this.summaries.recount(name));
  }

  /** Count the tags afresh unless they were counted less than `olderThanMs` ago (or by a caller queued meanwhile). */
  recount(name: string, olderThanMs = 0): Promise<RepositorySummary> {
    return this.exclusive(async () => {
      const s = await this.summaries.get(name);
      if (s && Date.now() - s.countedAt < olderThanMs) return s;
      return this.summaries.recount(name);
    });
  }

  /**
   * A queued mutation. A DomainError (unknown tag or manifest, invalid manifest) is thrown before any
   * tag write; any other failure may come mid-way, so the summary is forgotten and the tag index no
   * longer trusted: what they know may no longer be what R2 holds. `fn` records what it did to the tags
   * in `change`, which the index applies once `fn` has succeeded.
   */
  private mutation<T>(name: string, fn: (change: TagChange) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const change: TagChange = {};
      await this.index?.adopt(async () => (await this.store.listTags(name, 1)).names.length > 0);
      this.index?.begin();
      let result: T;
      try {
        result = await fn(change);
      } catch (err) {
        const domain = err instanceof DomainError;
        // Failed after its tag writes completed (the summary's write): the index can still take them.
        if (!domain && ("written" in change || "removed" in change)) this.index?.commit(change);
        else this.index?.fail(domain);
        if (!domain) await this.summaries.forget(name).catch(() => undefined);
        throw err;
      }
      this.index?.commit(change);
      return result;
    });
  }

  /** Run `fn` after every call queued before it has finished; failures do not stop the queue. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Carry a DomainError across the RPC boundary as a plain value. */
export async function toResult<T>(p: Promise<T>): Promise<MutationResult<T>> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    if (err instanceof DomainError) return { ok: false, error: err.toPlain() };
    throw err;
  }
}

export function unwrap<T>(r: MutationResult<T>): T {
  if (r.ok) return r.value;
  throw DomainError.fromPlain(r.error);
}
