/**
 * What the pages read, through the storage interfaces only, filtered by what the visitor may pull.
 * Repository lists are filtered before anything is counted, so a name the visitor may not pull never
 * reaches a page, a count or a "next" link.
 */
import type { TagSummary } from "../storage/manifests";
import { type UiContext, mayView } from "./context";

/** Names read from the catalog per page request at most, so a visitor who may see few repositories costs bounded work. */
export const CATALOG_SCAN_LIMIT = 5000;
/** Tags counted per repository for its summary (one list call); more shows as "1000+". */
export const SUMMARY_TAG_LIMIT = 1000;

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

export async function repoSummary(c: UiContext, name: string): Promise<TagSummary> {
  return c.storage.manifests.summarizeTags(name, SUMMARY_TAG_LIMIT);
}
