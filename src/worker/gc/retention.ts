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
 * Seam for the pull-through cache (src/worker/proxy/, not on main when this was written): it records the
 * last pull of a cached manifest as `repositories/<name>/_manifests/pulled/<alg>/<hex>` with
 * customMetadata.pulledAt (ms). To expire cached content not pulled for a configured time: add that key
 * to storage/paths.ts (and parseRepoKey), record it in inventory.ts's listRepositories as a column of m,
 * and in evaluateRepo doom the manifests of a cached repository whose pulledAt (or, without one, upload
 * time) is older than the setting; mark and sweep then collect their blobs like any other.
 */
import { parseDigest } from "../../oci/grammar";
import type { Repositories } from "../repository/client";
import { paths } from "../storage/paths";
import type { Budget } from "./budget";
import type { GcDb } from "./db";
import { type ManifestFact, manifestsToDrop, policyFor, tagsToDrop } from "./policy";
import type { GcSettings } from "./settings";

const REPOS_PER_STEP = 200;
/** Most R2 operations one tag or manifest delete may take (a manifest with many tags takes more: checked). */
const DELETE_COST = 12;

export function evaluateRetention(db: GcDb, settings: GcSettings, now: number): boolean {
  const after = db.get("cursor.retain") ?? "";
  const repos = db
    .all<{ repo: string }>("SELECT repo FROM (SELECT repo FROM m UNION SELECT repo FROM t) WHERE repo > ? ORDER BY repo LIMIT ?", after, REPOS_PER_STEP)
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
}

/** Delete what evaluation doomed (tags first, then manifests), re-checking each first. */
export async function applyRetention(
  budget: Budget,
  db: GcDb,
  repositories: Repositories,
  report: { tag(repo: string, tag: string): void; manifest(repo: string, digest: string): void },
): Promise<boolean> {
  while (budget.has(DELETE_COST)) {
    const t = db.one<{ repo: string; tag: string; etag: string }>("SELECT repo, tag, etag FROM t WHERE doomed = 1 LIMIT 1");
    if (!t) break;
    const now = await budget.bucket.head(paths.tag(t.repo, t.tag));
    if (now && now.etag === t.etag) {
      budget.used++;
      await repositories.deleteTag(t.repo, t.tag).catch(() => undefined); // gone meanwhile: nothing to do
      report.tag(t.repo, t.tag);
      db.run("UPDATE t SET doomed = 2 WHERE repo = ? AND tag = ?", t.repo, t.tag);
    } else {
      db.run("UPDATE t SET doomed = 0 WHERE repo = ? AND tag = ?", t.repo, t.tag); // changed since listed: keep
    }
  }
  while (budget.has(DELETE_COST)) {
    const m = db.one<{ repo: string; digest: string; uploaded: number }>("SELECT repo, digest, uploaded FROM m WHERE doomed = 1 LIMIT 1");
    if (!m) return true;
    const digest = parseDigest(m.digest);
    const [obj, tagged] = await Promise.all([
      budget.bucket.head(paths.manifest(m.repo, digest)),
      budget.bucket.list({ prefix: paths.taggedPrefix(m.repo, digest), limit: 1 }),
    ]);
    if (obj && obj.uploaded.getTime() === m.uploaded && tagged.objects.length === 0) {
      budget.used++;
      await repositories.deleteManifest(m.repo, digest).catch(() => undefined);
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
