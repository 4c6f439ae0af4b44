/**
 * The repository's tag index: every tag of the repository, sorted, with what a listing shows of it
 * (digest, media type, push time, content size, platforms, artifact type), kept in the repository
 * Durable Object's own SQLite storage so that a page of the tags list is one RPC and one range query
 * instead of R2 list calls (a walk of 10,000 tags in pages of 1,000 was 11 R2 lists of ~50 ms each
 * locally). R2 stays the source of truth for tag -> manifest, and GET by tag reads R2; the index is
 * derived data, and this header is its protocol.
 *
 * Who writes it
 * -------------
 * Only the repository's object (object.ts), from inside the queued call of each tag mutation
 * (mutations.ts: manifest PUT with a tag, tag DELETE, manifest DELETE by digest), and from a rebuild, which
 * runs in the same queue. Every Worker path that moves or deletes a tag goes through that object: the
 * registry API (http/handlers/manifests.ts, http/manifest-delete.ts), the pull-through cache
 * (proxy/manifests.ts stores fetched manifests and tags through `Repositories`) and garbage collection's
 * retention and eviction (gc/retention.ts). Anything else that writes tag objects straight into R2 (a
 * repository pushed before the index existed, a restored bucket, bench/gc-seed) leaves an index that is
 * missing, and a missing index is rebuilt; an index that exists while someone bypasses the object is
 * wrong until the next failed mutation or a `rebuild` RPC, which is why nothing in the Worker does that.
 *
 * When it is trusted
 * ------------------
 * `tag_meta.state` is `ready`, `building` (with `after`, the last tag copied so far), `dirty_ready` or
 * `dirty_building` (a mutation is in flight), or `dirty` (a mutation failed); no tables means no index
 * yet. The object trusts the index (`trusted`, in memory) when it read `ready` at start or finished a
 * rebuild, and no mutation has failed since. Each mutation, when the index is `ready` or `building`:
 *   1. sets `dirty_<state>` (durable before the mutation's first R2 write goes out: Durable Object
 *      storage holds outgoing messages until its writes are committed);
 *   2. does its R2 writes (ManifestStore);
 *   3. on success, applies what it did (the tag object it wrote, the tags it removed) and sets the state
 *      back, in one transaction, before the call answers: a push or delete that answered is in every
 *      later listing. A failure after its tag writes completed (the summary's write) still applies them;
 *   4. on a DomainError (those are thrown before any R2 tag write) sets the state back unchanged; on any
 *      other failure stops trusting the index and sets `dirty`.
 * An object killed between 1 and 3 leaves `dirty_<state>`; the next instance reads it and does not trust
 * the index. Readers (tag lists) do not queue: while trusted they read the rows directly, and a mutation
 * in flight shows as not yet done, as it would in an R2 listing taken at the same moment.
 *
 * A new repository starts with an empty, ready index at its first mutation (`adopt`: R2 holds none of
 * its tags, checked inside the queue, so nothing can add one meanwhile).
 *
 * How it is rebuilt
 * -----------------
 * A read that finds the index not trusted queues a rebuild step: it empties the rows (unless it resumes
 * a `building` state; with no tables yet and no tags in R2 it writes nothing and answers "no tags"),
 * then copies the R2 listing of the tags with their metadata
 * (ManifestStore.listTagDetails), at most REBUILD_PAGES list calls of 1,000 per step, recording `after`
 * as it goes; when the listing ends, `ready`. A step that does not finish (a larger repository, or an R2
 * failure) answers nothing from the index: the Worker lists R2 as before, and the next read continues.
 * Mutations queued between steps apply to the partial rows as usual (a tag beyond `after` is copied later
 * from R2 as the mutation left it), and a mutation that fails during a build starts it over.
 */
import type { TagDetail, TagDetailPage } from "../storage/manifests";
import type { Page } from "../storage/listing";

/** R2 list calls (of up to 1,000 tags) per rebuild step. */
export const REBUILD_PAGES = 50;
const REBUILD_PAGE_SIZE = 1000;

/** A page of tag names as the tags list sends them. */
export interface TagNamesPage {
  /** The names, in order, as a JSON array. */
  json: string;
  count: number;
  /** The last name of the page (for the Link header). */
  last?: string;
  more: boolean;
}

/** The same from a list of names (the R2 listing, while the index is being built). */
export function namesPage(p: Page): TagNamesPage {
  return { json: JSON.stringify(p.names), count: p.names.length, last: p.names[p.names.length - 1], more: p.more };
}

/** What a mutation did to the repository's tags. */
export interface TagChange {
  /** The tag object it wrote (a moved or created tag). */
  written?: TagDetail | null;
  /** Tags it deleted. */
  removed?: readonly string[];
}

/** `dirty_ready` / `dirty_building`: a mutation is in flight (step 1); read back by a new instance, not trusted. */
type State = "ready" | "dirty" | "building" | "dirty_ready" | "dirty_building";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tag_meta (k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE IF NOT EXISTS tags (
  tag TEXT PRIMARY KEY, digest TEXT NOT NULL, media_type TEXT NOT NULL, pushed_at INTEGER NOT NULL,
  content_size INTEGER, platforms TEXT, artifact_type TEXT
) WITHOUT ROWID;
`;

type Row = {
  tag: string;
  digest: string;
  media_type: string;
  pushed_at: number;
  content_size: number | null;
  platforms: string | null;
  artifact_type: string | null;
};

/** Above every tag in SQLite's byte order (tags are ASCII): the end of a prefix range. */
const TOP = "\uffff";

export class TagIndex {
  private readonly sql: SqlStorage;
  private trusted: boolean;
  /** The tables exist. They are created by the first rebuild that finds tags, so a tags list of a name
   * nobody pushed to (NAME_UNKNOWN) leaves no storage behind. */
  private schema: boolean;
  private adoptChecked = false;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.schema = this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'tag_meta'").toArray().length > 0;
    this.trusted = this.state() === "ready";
  }

  /** The index may answer listings now (no rebuild needed). */
  get ready(): boolean {
    return this.trusted;
  }

  // --- the mutation protocol (steps 1, 3, 4 of the header); called from inside the object's queue ---

  /**
   * Before the first mutation of an object with no index: when R2 holds no tag of the repository (a new
   * one), the empty index is exact, so start it now, ready, and spare the first listing a rebuild. With
   * tags in R2 (pushed before the index), leave it to the first listing. One R2 list of one key, once
   * per object instance.
   */
  async adopt(hasTags: () => Promise<boolean>): Promise<void> {
    if (this.schema || this.adoptChecked) return;
    this.adoptChecked = true;
    try {
      if (await hasTags()) return;
    } catch {
      this.adoptChecked = false; // R2 failed: the mutation will fail too, or the first listing rebuilds
      return;
    }
    this.storage.transactionSync(() => {
      this.sql.exec(SCHEMA);
      this.schema = true;
      this.setState("ready");
    });
    this.trusted = true;
  }

  /** Step 1, before a mutation's first R2 write. */
  begin(): void {
    const s = this.state();
    if (s === "ready") this.setState("dirty_ready");
    else if (s === "building") this.setState("dirty_building");
  }

  /** Step 3: the mutation succeeded and did `change`. */
  commit(change: TagChange): void {
    const s = this.state();
    if (s !== "dirty_ready" && s !== "dirty_building") return;
    this.storage.transactionSync(() => {
      if (change.written) this.upsert(change.written);
      for (const tag of change.removed ?? []) this.sql.exec("DELETE FROM tags WHERE tag = ?", tag);
      this.setState(s === "dirty_ready" ? "ready" : "building");
    });
  }

  /** Step 4: the mutation failed; `beforeWrites` when it is known to have written nothing (a DomainError). */
  fail(beforeWrites: boolean): void {
    if (beforeWrites) return this.commit({});
    this.trusted = false;
    if (this.schema) this.setState("dirty");
  }

  // --- reads: only while `ready` ---

  /** Up to `n` tag names after `last` (n = Infinity: all), and whether more follow. */
  listNames(n: number, last?: string): Page {
    if (n === 0 || !this.schema) return { names: [], more: false };
    const rows = this.sql
      .exec<{ tag: string }>("SELECT tag FROM tags WHERE tag > ? ORDER BY tag LIMIT ?", last ?? "", limitOf(n))
      .toArray();
    const more = n !== Infinity && rows.length > n;
    return { names: (more ? rows.slice(0, n) : rows).map((r) => r.tag), more };
  }

  /**
   * listNames with the names as a JSON array built by SQLite (the tags list's body): no row objects, one
   * string over RPC, no JSON.stringify in the Worker (a page of 1,000 is ~9 kB).
   */
  listNamesJson(n: number, last?: string): TagNamesPage {
    if (n === 0 || !this.schema) return { json: "[]", count: 0, more: false };
    const row = this.sql
      .exec<{ j: string; c: number; m: string | null }>(
        "SELECT json_group_array(tag) AS j, count(*) AS c, max(tag) AS m FROM (SELECT tag FROM tags WHERE tag > ? ORDER BY tag LIMIT ?)",
        last ?? "",
        n === Infinity ? -1 : n,
      )
      .one();
    if (!row.c || row.m === null) return { json: "[]", count: 0, more: false };
    const more = n !== Infinity && this.sql.exec("SELECT 1 FROM tags WHERE tag > ? LIMIT 1", row.m).toArray().length > 0;
    return { json: row.j, count: row.c, last: row.m, more };
  }

  /** Up to `n` tags after `last` starting with `prefix`, with their details. */
  listDetails(n: number, last: string | undefined, prefix = ""): TagDetailPage {
    if (n === 0 || !this.schema) return { tags: [], more: false };
    const from = last !== undefined && last >= prefix ? last : undefined;
    const rows = this.sql
      .exec<Row>(
        from === undefined
          ? "SELECT * FROM tags WHERE tag >= ? AND tag < ? ORDER BY tag LIMIT ?"
          : "SELECT * FROM tags WHERE tag > ? AND tag < ? ORDER BY tag LIMIT ?",
        from ?? prefix,
        prefix + TOP,
        limitOf(n),
      )
      .toArray();
    const more = n !== Infinity && rows.length > n;
    return { tags: (more ? rows.slice(0, n) : rows).map(detailOf), more };
  }

  // --- rebuild (from inside the object's queue) ---

  /**
   * One rebuild step from `list` (the R2 listing of the repository's tags with details). Returns true
   * when the index can answer afterwards (ready, or no tables and R2 has no tags: empty).
   */
  async rebuildStep(list: (n: number, after?: string) => Promise<TagDetailPage>): Promise<boolean> {
    if (this.trusted) return true;
    let first: TagDetailPage | undefined;
    if (!this.schema) {
      first = await list(REBUILD_PAGE_SIZE);
      if (!first.tags.length && !first.more) return true; // nothing to index, and nothing written
      this.sql.exec(SCHEMA);
      this.schema = true;
    }
    let after: string | undefined;
    if (this.state() === "building") {
      after = this.meta("after") ?? undefined;
    } else {
      this.storage.transactionSync(() => {
        this.sql.exec("DELETE FROM tags");
        this.sql.exec("DELETE FROM tag_meta WHERE k = 'after'");
        this.setState("building");
      });
    }
    for (let i = 0; i < REBUILD_PAGES; i++) {
      const page = first ?? (await list(REBUILD_PAGE_SIZE, after));
      first = undefined;
      // A mutation that failed meanwhile cannot have run (we are in the queue), so the state is still ours.
      this.storage.transactionSync(() => {
        for (const t of page.tags) this.upsert(t);
        if (page.tags.length) {
          after = page.tags[page.tags.length - 1].tag;
          this.sql.exec("INSERT OR REPLACE INTO tag_meta (k, v) VALUES ('after', ?)", after);
        }
        if (!page.more) {
          this.sql.exec("DELETE FROM tag_meta WHERE k = 'after'");
          this.setState("ready");
        }
      });
      if (!page.more) {
        this.trusted = true;
        return true;
      }
    }
    return false;
  }

  /** Forget the index: the next read rebuilds it. */
  invalidate(): void {
    this.trusted = false;
    if (this.schema) this.setState("dirty");
  }

  private upsert(t: TagDetail): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO tags (tag, digest, media_type, pushed_at, content_size, platforms, artifact_type) VALUES (?, ?, ?, ?, ?, ?, ?)",
      t.tag,
      t.digest,
      t.mediaType,
      t.pushedAt.getTime(),
      t.contentSize ?? null,
      t.platforms?.length ? t.platforms.join(",") : null,
      t.artifactType ?? null,
    );
  }

  private state(): string | null {
    return this.schema ? this.meta("state") : null;
  }

  private setState(s: State): void {
    this.sql.exec("INSERT OR REPLACE INTO tag_meta (k, v) VALUES ('state', ?)", s);
  }

  private meta(k: string): string | null {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM tag_meta WHERE k = ?", k).toArray()[0];
    return row ? row.v : null;
  }
}

/** SQLite's LIMIT: one more than asked, to learn whether more follow; -1 for no limit. */
function limitOf(n: number): number {
  return n === Infinity ? -1 : n + 1;
}

function detailOf(r: Row): TagDetail {
  const t: TagDetail = { tag: r.tag, digest: r.digest, mediaType: r.media_type, pushedAt: new Date(r.pushed_at) };
  if (r.content_size !== null) t.contentSize = r.content_size;
  if (r.platforms) t.platforms = r.platforms.split(",");
  if (r.artifact_type) t.artifactType = r.artifact_type;
  return t;
}
