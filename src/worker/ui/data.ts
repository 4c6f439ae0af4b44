/**
 * What the pages read, through the storage interfaces only, filtered by what the visitor may pull.
 * Repository lists are filtered before anything is counted, so a name the visitor may not pull never
 * reaches a page, a count or a "next" link.
 *
 * Two reads are made cheap for large repositories (issue 15: every page under 200 ms with 1,000 tags):
 * - the repositories page reads each repository's summary (storage/summaries.ts), one small object,
 *   instead of listing its tags;
 * - a tag page comes from the repository object's tag index (repository/tag-index.ts): one RPC and one
 *   range query, up to date when a push or delete through the object answers (every tag mutation,
 *   the pull-through cache's included, goes through it). While the index is being built, R2 is listed.
 *   Access is checked before, on every request.
 */
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

/** Up to `n` tags after `after` starting with `prefix`, with their details (see the header). */
export async function tagPage(c: UiContext, name: string, n: number, after: string | undefined, prefix: string): Promise<TagDetailPage> {
  return (await c.repositories.listTagDetails(name, n, after, prefix)) ?? (await c.storage.manifests.listTagDetails(name, n, after, prefix));
}
