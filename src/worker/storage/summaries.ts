/**
 * Repository summaries: what the repositories page shows of a repository (how many tags, which tag was
 * pushed last, when, and its size) kept in one small object per repository (`paths.summary`), so that a
 * page of 20 repositories reads 20 small objects instead of listing every repository's tags.
 *
 * Who writes it (the protocol): only the repository's Durable Object (src/worker/repository/mutations.ts),
 * inside the same queued call as the mutation it follows, so a summary is never written by two actors at
 * once and is up to date when a push or delete answers:
 *   - a tagged push: one more tag if the tag is new; it becomes the latest (no list);
 *   - a tag or manifest delete: fewer tags by those removed (no list), unless the latest went: recount;
 *   - missing (a repository pushed before summaries existed, or one forgotten below): recount;
 *   - a mutation that failed half-way may have changed tags the summary does not know of: forget it;
 *   - older than RECOUNT_AFTER_MS when read (a Durable Object killed mid-call could leave one off by a
 *     tag): readers ask for a recount in the background; until then they show it as it is.
 * The pull-through cache stores fetched manifests and tags through the object too (proxy/manifests.ts).
 * A recount lists the tags (keys only, one list call per 1,000, at most RECOUNT_LIMIT) and reads the
 * latest tag's metadata. Every write carries a new `version`, so a reader may cache what it derived from
 * a repository's tags under (name, version): any change through the object changes the version.
 */
import { listObjects } from "./listing";
import { paths } from "./paths";

export interface RepositorySummary {
  /** New on every write: caches of this repository's tag listings are keyed by it. */
  version: string;
  tags: number;
  /** More tags than a recount counts (RECOUNT_LIMIT): `tags` is a lower bound. */
  more: boolean;
  latest?: LatestTag;
  /** When the tags were last counted from a listing (ms since epoch). */
  countedAt: number;
}

export interface LatestTag {
  tag: string;
  digest: string;
  /** The tag object's upload time (ms since epoch). */
  pushedAt: number;
  /** Bytes of config and layers (of an index: of its children), when recorded at push. */
  contentSize?: number;
}

/** What a tagged push did, for the summary. */
export interface TagPushed extends LatestTag {
  /** The tag did not exist before. */
  added: boolean;
}

/** Tags counted by one recount at most (100 list calls). */
export const RECOUNT_LIMIT = 100_000;
/** A summary read later than this after its last count is recounted in the background. */
export const RECOUNT_AFTER_MS = 10 * 60_000;

export class SummaryStore {
  constructor(private readonly bucket: R2Bucket) {}

  async get(name: string): Promise<RepositorySummary | null> {
    const obj = await this.bucket.get(paths.summary(name));
    if (!obj) return null;
    try {
      const s = (await obj.json()) as RepositorySummary;
      return typeof s.version === "string" && typeof s.tags === "number" ? s : null;
    } catch {
      return null;
    }
  }

  // --- writes: only from the repository's Durable Object (see the protocol above) ---

  /** Count the tags afresh and store the result. */
  async recount(name: string): Promise<RepositorySummary> {
    const page = await listObjects(this.bucket, paths.tagsPrefix(name), RECOUNT_LIMIT, undefined, false);
    let newest: (typeof page.objects)[number] | undefined;
    for (const o of page.objects) if (!newest || o.uploaded > newest.uploaded) newest = o;
    let latest: LatestTag | undefined;
    if (newest) {
      const head = await this.bucket.head(paths.tag(name, newest.name));
      const m = head?.customMetadata ?? {};
      if (m.digest) latest = { tag: newest.name, digest: m.digest, pushedAt: newest.uploaded.getTime(), contentSize: sizeOf(m.contentSize) };
    }
    return this.write(name, { tags: page.objects.length, more: page.more, latest, countedAt: Date.now() });
  }

  async tagPushed(name: string, pushed: TagPushed): Promise<RepositorySummary> {
    const s = await this.get(name);
    if (!s) return this.recount(name); // the listing already holds the new tag
    const { added, ...latest } = pushed;
    return this.write(name, { tags: s.tags + (added ? 1 : 0), more: s.more, latest, countedAt: s.countedAt });
  }

  async tagsRemoved(name: string, tags: readonly string[]): Promise<RepositorySummary | null> {
    if (!tags.length) return null;
    const s = await this.get(name);
    if (!s || (s.latest && tags.includes(s.latest.tag))) return this.recount(name);
    return this.write(name, { tags: Math.max(0, s.tags - tags.length), more: s.more, latest: s.latest, countedAt: s.countedAt });
  }

  /** Drop the summary: the next reader has it recounted. */
  async forget(name: string): Promise<void> {
    await this.bucket.delete(paths.summary(name));
  }

  private async write(name: string, s: Omit<RepositorySummary, "version">): Promise<RepositorySummary> {
    const summary: RepositorySummary = { version: crypto.randomUUID(), ...s };
    await this.bucket.put(paths.summary(name), JSON.stringify(summary), { httpMetadata: { contentType: "application/json" } });
    return summary;
  }
}

export function sizeOf(v: string | undefined): number | undefined {
  return v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : undefined;
}
