/**
 * What the pages read, through the storage interfaces only, filtered by what the visitor may pull.
 * Repository lists are filtered before anything is counted, so a name the visitor may not pull never
 * reaches a page, a count or a "next" link.
 *
 * Two reads are made cheap for large repositories (issue 15: every page under 200 ms with 1,000 tags):
 * - the repositories page reads each repository's summary (storage/summaries.ts), one small object,
 *   instead of listing its tags;
 * - a tag page's listing is kept in this isolate under the repository summary's version, which every
 *   tag change through the repository's object replaces before the change answers: a listing cached
 *   under the current version is what R2 holds (a mutation in flight may show on either side, as with an
 *   uncached read). Tags the pull-through cache stores change the version when its recount runs, just
 *   after the store; TAG_PAGE_TTL_MS bounds any other way a cached listing could lag (a recount that
 *   failed). No version (no summary yet): not cached. Access is checked before, on every request.
 */
import { LruTtl } from "../cache/content-cache";
import type { TagDetailPage } from "../storage/manifests";
import { RECOUNT_AFTER_MS, type RepositorySummary } from "../storage/summaries";
import { type UiContext, mayView } from "./context";

/** Names read from the catalog per page request at most, so a visitor who may see few repositories costs bounded work. */
export const CATALOG_SCAN_LIMIT = 5000;

export interface RepoPage {
  names: string[];
  /** Where the next page starts: after this name (one the visitor sees, or one they scanned past, sealed by the caller). */
  next?: { after: string; visible: boolean };
}

export async function visibleRepositories(c: UiContext, n: number, after?: string, query = ""): Promise<RepoPage> {
  const q = query.trim().toLowerCase();
  const names: string[] = [];
  let last = after;
  let scanned = 0;
  for (;;) {
    const page = await c.storage.catalog.list(1000, last);
    for (let i = 0; i < page.names.length; i++) {
      const name = page.names[i];
      last = name;
      scanned++;
      if ((q && !name.includes(q)) || !mayView(c, name)) continue;
      names.push(name);
      if (names.length === n) return { names, next: i < page.names.length - 1 || page.more ? { after: name, visible: true } : undefined };
    }
    if (!page.more) return { names };
    // Stopped at a name the visitor may not see: the page must seal it before it goes into a link.
    if (scanned >= CATALOG_SCAN_LIMIT) return { names, next: { after: last!, visible: false } };
  }
}

/**
 * A repository's summary (storage/summaries.ts): one small read. Missing, the repository's object counts
 * it now (once: it stores it); counted longer than RECOUNT_AFTER_MS ago, it is shown as it is and
 * recounted after the response. Call only for names the visitor may see.
 */
export async function repoSummary(c: UiContext, name: string): Promise<RepositorySummary> {
  const s = await c.storage.summaries.get(name);
  if (!s) return c.repositories.summary(name);
  if (Date.now() - s.countedAt > RECOUNT_AFTER_MS) {
    c.waitUntil(c.repositories.recount(name, RECOUNT_AFTER_MS).catch((e) => console.error("ui: recounting a summary failed", e)));
  }
  return s;
}

/** Tag listings kept per isolate (at most this many, and about TAG_PAGE_CACHE_BYTES of them). */
const TAG_PAGE_ENTRIES = 64;
const TAG_PAGE_CACHE_BYTES = 16 * 1024 * 1024;
/** A cached tag listing is never older than this, whatever the version says. */
export const TAG_PAGE_TTL_MS = 60_000;
/** A rough size of a listed tag in memory, for the cache's bound. */
const BYTES_PER_TAG = 400;
const tagPages = new LruTtl<TagDetailPage>(TAG_PAGE_ENTRIES, TAG_PAGE_CACHE_BYTES);

/** Up to `n` tags after `after` starting with `prefix`, with their details (see the header: cached under the summary's version). */
export async function tagPage(c: UiContext, name: string, n: number, after: string | undefined, prefix: string): Promise<TagDetailPage> {
  const summary = await c.storage.summaries.get(name);
  const key = summary && JSON.stringify([name, summary.version, n, after ?? null, prefix]);
  const hit = key ? tagPages.get(key) : undefined;
  if (hit) return hit;
  const listed = await c.storage.manifests.listTagDetails(name, n, after, prefix);
  if (key) tagPages.set(key, listed, 256 + listed.tags.length * BYTES_PER_TAG, TAG_PAGE_TTL_MS);
  return listed;
}
