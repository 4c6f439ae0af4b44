/**
 * Retention: which tags and manifests a run drops (policy.ts decides, from the inventory), and dropping
 * them through the repository's Durable Object (src/worker/repository/), so a retention delete is the same
 * serialised delete a client's DELETE is. Each such call is one subrequest, counted in the step's budget.
 *
 * Evaluation runs over repositories in batches (cursor "cursor.retain") and marks rows `doomed`; it makes
 * no R2 calls. Applying re-checks each doomed item just before deleting it, so what changed since the
 * inventory survives: a tag whose object changed (moved, re-pushed) is kept; a manifest re-pushed or
 * tagged since is kept. Immutable tags are never doomed.
 *
 * Pull-through cache eviction (PROXY_EVICT_AFTER_SECONDS; policy.ts decides): the proxy records the last
 * pull of a cached manifest (`_proxy/pulled/<digest>`, customMetadata.pulledAt), the inventory lists those
 * records (table pl), and evaluation dooms, in repositories under an upstream's prefix, the manifests and
 * tags nobody used for that long; mark and sweep then collect their blobs like any other. Applying
 * re-reads the manifest's pull record first, so a pull since the inventory keeps it, and removes the
 * proxy's own records of what went (the pull record, the tag's upstream check) and pull records whose
 * manifest is gone. A later pull of evicted content fetches it from the upstream again.
 */
import { parseDigest } from "../../oci/grammar";
import type { Repositories } from "../repository/client";
import { paths } from "../storage/paths";
import type { Budget } from "./budget";
import type { GcDb } from "./db";
import { cachedToEvict, isCacheRepository, isImmutable, type ManifestFact, manifestsToDrop, policyFor, tagsToDrop } from "./policy";
import type { GcSettings } from "./settings";

const REPOS_PER_STEP = 200;
/** Most R2 operations one tag or manifest delete may take (a manifest with many tags takes more: checked). */
const DELETE_COST = 12;

export function evaluateRetention(db: GcDb, settings: GcSettings, now: number): boolean {
  const after = db.get("cursor.retain") ?? "";
  const repos = db
    .all<{ repo: string }>("SELECT repo FROM (SELECT repo FROM m UNION SELECT repo FROM t UNION SELECT repo FROM pl) WHERE repo > ? ORDER BY repo LIMIT ?", after, REPOS_PER_STEP)
    .map((r) => r.repo);
  for (const repo of repos) evaluateRepo(db, settings, repo, now);
  if (repos.length) db.set("cursor.retain", repos[repos.length - 1]);
  return repos.length < REPOS_PER_STEP;
}

function evaluateRepo(db: GcDb, settings: GcSettings, repo: string, now: number): void {
  const policy = policyFor(settings.retention, repo);
  const tags = db.all<{ tag: string; digest: string; uploaded: number }>("SELECT tag, digest, uploaded FROM t WHERE repo = ?", repo);
  const dropped = new Set(policy ? tagsToDrop(policy, settings.immutable, repo, tags, now) : []);
  for (const tag of dropped) db.run("UPDATE t SET doomed = 1 WHERE repo = ? AND tag = ?", repo, tag);
  const kept = new Set(tags.filter((t) => !dropped.has(t.tag)).map((t) => t.digest));
  const manifests: ManifestFact[] = db
    .all<{ digest: string; uploaded: number; children: string; subject: string | null }>("SELECT digest, uploaded, children, subject FROM m WHERE repo = ?", repo)
    .map((m) => ({ digest: m.digest, uploaded: m.uploaded, children: m.children ? m.children.split(",") : [], subject: m.subject ?? undefined }));
  for (const digest of manifestsToDrop(policy, manifests, kept, now, settings.graceSeconds * 1000)) {
    db.run("UPDATE m SET doomed = 1 WHERE repo = ? AND digest = ?", repo, digest);
  }
  if (evicting(settings, repo)) evictCached(db, settings, repo, now);
}

/** Pull-through cache eviction applies to `repo`. */
function evicting(settings: GcSettings, repo: string): boolean {
  return settings.proxyEvictSeconds > 0 && isCacheRepository(settings.proxyPrefixes, repo);
}

function evictCached(db: GcDb, settings: GcSettings, repo: string, now: number): void {
  const manifests = db
    .all<{ digest: string; uploaded: number; children: string; subject: string | null; at: number | null }>(
      "SELECT m.digest, m.uploaded, m.children, m.subject, pl.at FROM m LEFT JOIN pl ON pl.repo = m.repo AND pl.digest = m.digest WHERE m.repo = ?",
      repo,
    )
    .map((m) => ({ digest: m.digest, lastUse: m.at ?? m.uploaded, children: m.children ? m.children.split(",") : [], subject: m.subject ?? undefined }));
  const tags = db
    .all<{ tag: string; digest: string }>("SELECT tag, digest FROM t WHERE repo = ?", repo)
    .map((t) => ({ ...t, immutable: isImmutable(settings.immutable, repo, t.tag) }));
  const evicted = cachedToEvict(manifests, tags, now, settings.proxyEvictSeconds * 1000);
  for (const tag of evicted.tags) db.run("UPDATE t SET doomed = 1 WHERE repo = ? AND tag = ?", repo, tag);
  for (const digest of evicted.manifests) db.run("UPDATE m SET doomed = 1 WHERE repo = ? AND digest = ?", repo, digest);
  // Pull records of manifests that are gone (deleted or evicted earlier): nothing reads them any more.
  db.run("UPDATE pl SET gone = 1 WHERE repo = ? AND NOT EXISTS (SELECT 1 FROM m WHERE m.repo = pl.repo AND m.digest = pl.digest)", repo);
}

/** In a cache repository, was `digest` pulled within the eviction time (a pull since the inventory)? */
async function pulledLately(budget: Budget, settings: GcSettings, repo: string, digest: string): Promise<boolean> {
  if (!evicting(settings, repo)) return false;
  const rec = await budget.bucket.head(paths.proxyPulled(repo, parseDigest(digest)));
  const at = Number(rec?.customMetadata?.pulledAt);
  return Number.isFinite(at) && Date.now() - at <= settings.proxyEvictSeconds * 1000;
}

/** Delete what evaluation doomed (tags first, then manifests), re-checking each first. */
export async function applyRetention(
  budget: Budget,
  db: GcDb,
  repositories: Repositories,
  settings: GcSettings,
  report: { tag(repo: string, tag: string): void; manifest(repo: string, digest: string): void },
): Promise<boolean> {
  while (budget.has(DELETE_COST)) {
    const t = db.one<{ repo: string; tag: string; etag: string; digest: string }>("SELECT repo, tag, etag, digest FROM t WHERE doomed = 1 LIMIT 1");
    if (!t) break;
    const now = await budget.bucket.head(paths.tag(t.repo, t.tag));
    if (now && now.etag === t.etag && !(await pulledLately(budget, settings, t.repo, t.digest))) {
      budget.used++;
      await repositories.deleteTag(t.repo, t.tag).catch(() => undefined); // gone meanwhile: nothing to do
      if (evicting(settings, t.repo)) await budget.bucket.delete(paths.proxyTag(t.repo, t.tag)); // its upstream check
      report.tag(t.repo, t.tag);
      db.run("UPDATE t SET doomed = 2 WHERE repo = ? AND tag = ?", t.repo, t.tag);
    } else {
      db.run("UPDATE t SET doomed = 0 WHERE repo = ? AND tag = ?", t.repo, t.tag); // changed since listed: keep
    }
  }
  while (budget.has(DELETE_COST)) {
    const m = db.one<{ repo: string; digest: string; uploaded: number }>("SELECT repo, digest, uploaded FROM m WHERE doomed = 1 LIMIT 1");
    if (!m) return deleteGonePullRecords(budget, db);
    const digest = parseDigest(m.digest);
    const [obj, tagged, pulled] = await Promise.all([
      budget.bucket.head(paths.manifest(m.repo, digest)),
      budget.bucket.list({ prefix: paths.taggedPrefix(m.repo, digest), limit: 1 }),
      pulledLately(budget, settings, m.repo, m.digest),
    ]);
    if (obj && obj.uploaded.getTime() === m.uploaded && tagged.objects.length === 0 && !pulled) {
      budget.used++;
      await repositories.deleteManifest(m.repo, digest).catch(() => undefined);
      if (evicting(settings, m.repo)) db.run("UPDATE pl SET gone = 1 WHERE repo = ? AND digest = ?", m.repo, m.digest);
      report.manifest(m.repo, m.digest);
      db.run("UPDATE m SET doomed = 2 WHERE repo = ? AND digest = ?", m.repo, m.digest);
    } else if (!obj) {
      db.run("UPDATE m SET doomed = 2 WHERE repo = ? AND digest = ?", m.repo, m.digest); // deleted by someone else
    } else {
      db.run("UPDATE m SET doomed = 0 WHERE repo = ? AND digest = ?", m.repo, m.digest); // re-pushed or tagged since: keep
    }
  }
  return false;
}

/** Delete the pull records marked gone (their manifests are), up to 1,000 keys per call. True when none are left. */
async function deleteGonePullRecords(budget: Budget, db: GcDb): Promise<boolean> {
  while (budget.has(1)) {
    const rows = db.all<{ repo: string; digest: string }>("SELECT repo, digest FROM pl WHERE gone = 1 LIMIT 1000");
    if (!rows.length) return true;
    await budget.bucket.delete(rows.map((r) => paths.proxyPulled(r.repo, parseDigest(r.digest))));
    for (const r of rows) db.run("UPDATE pl SET gone = 2 WHERE repo = ? AND digest = ?", r.repo, r.digest);
  }
  return false;
}
